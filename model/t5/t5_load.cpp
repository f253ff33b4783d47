// t5_load.cpp — T5Model::from_pretrained: config.json + safetensors from a HF checkpoint directory.
#include <filesystem>

#include "model/safetensors_source.h"
#include "model/t5/t5_model.h"

namespace spot {

std::unique_ptr<T5Model> T5Model::from_pretrained(Context& ctx, const std::string& dir, Precision precision) {
  namespace fs = std::filesystem;
  SPOT_CHECK(fs::is_directory(dir), dir << ": not a checkpoint directory (expected config.json and safetensors)");
  const T5Config config = t5_config_from_json((fs::path(dir) / "config.json").string());
  io::SafetensorsSource source(dir);
  // Config/weights mismatch shows up as a named tensor with the wrong shape; also catch a
  // checkpoint that is not a T5 at all before loading gigabytes.
  SPOT_CHECK(source.contains("shared.weight"),
             source.describe() << ": missing tensor 'shared.weight' (is this a T5 checkpoint?)");
  return std::make_unique<T5Model>(ctx, T5Weights::load(config, source, ctx.device()), precision);
}

}  // namespace spot
