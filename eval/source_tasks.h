// source_tasks.h — SPoT's source tasks outside GLUE / SuperGLUE (Vu et al. 2022, Table 2), and CR.
//
// Registered in the task registry after the GLUE / SuperGLUE tasks (eval::builtin_tasks()), under
// "spot/<name>". Each reads its dataset's official distribution format (or the copy in
// shared/data/spot_source, see shared/data/MANIFEST.md), formats T5-style where T5 defines the task
// (SQuAD: t5.data.preprocessors.squad) and as "<task> <field>: ..." otherwise, as SPoT did:
//
//   spot/squad      SQuAD v1.1 json               generation, SQuAD EM / F1 (T5's padded answers)
//   spot/cosmosqa   CosmosQA csv                  multiple choice (4 answers), accuracy
//   spot/race       RACE directories high/middle  multiple choice (A-D), accuracy
//   spot/winogrande WinoGrande jsonl, Arrow (xl)  multiple choice (2 options), accuracy
//   spot/hellaswag  HellaSwag jsonl               multiple choice (4 endings), accuracy
//   spot/snli       SNLI GLUE-style ragged tsv    3-way NLI, accuracy
//   spot/docnli     DocNLI json arrays            2-way NLI, accuracy
//   spot/yelp2      Yelp polarity csv             sentiment, accuracy
//   spot/drop       DROP json                     generation, SQuAD EM / F1 (not DROP's numeric F1)
//   spot/cr         CR custrev.pos / .neg         sentiment (a SPoT target), accuracy; hashed split
//   spot/c4, spot/cxc                            no reader: load() fails naming the expected files
//
// Multiple-choice tasks put the answer options in the input and make the gold option's text the
// target; they are always evaluated by rank classification over the options (Task::always_rank).
// Each task is a TaskDef (eval/task_def.h) in the table of eval/source_tasks.cpp, like the GLUE and
// SuperGLUE tables.
// Formats, splits and deviations are documented in eval/README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/tasks.h"

namespace spot::eval {

// The spot/* tasks, in the order of SPoT's Table 2 (sources by size, then CR).
std::vector<std::unique_ptr<Task>> make_source_tasks();

// T5's _pad_punctuation (t5/data/preprocessors.py, on RE2): a space on each side of every code
// point that is not an ASCII word character [0-9A-Za-z_], then runs of [\t\n\f\r ] collapsed to one
// space. "U.S. (1990)" -> "U . S . ( 1990 ) ".
std::string t5_pad_punctuation(std::string_view s);

// Which CR split a sentence belongs to: FNV-1a 64 of its bytes, modulo 10: 0 -> "test",
// 1 -> "validation", 2..9 -> "train" (an 80/10/10 split that is stable under reordering, and puts
// a sentence that occurs twice into one split).
std::string cr_split_of(std::string_view sentence);

}  // namespace spot::eval
