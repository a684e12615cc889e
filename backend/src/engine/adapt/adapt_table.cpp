// adaptation_table (t2/adapt.h): base, each expert and every two-pass strategy on several tasks,
// each cell one stored evaluation; Markdown and CSV renderings.
#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>

#include <cstdio>
#include <sstream>

namespace t2 {
namespace detail::adapt_table {

AdaptTableCell cell_of(const std::string& row, const std::string& task, const EvalReport& r,
                       std::int64_t run_id) {
  AdaptTableCell c;
  c.row = row;
  c.task = task;
  c.n = r.n;
  c.correct = r.correct;
  c.accuracy = r.accuracy;
  c.ci_low = r.ci_low;
  c.ci_high = r.ci_high;
  c.run_id = run_id;
  return c;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace detail::adapt_table

const AdaptTableCell* AdaptTable::find(const std::string& row, const std::string& task) const {
  for (const auto& c : cells)
    if (c.row == row && c.task == task) return &c;
  return nullptr;
}

AdaptTable adaptation_table(std::shared_ptr<const Model> model, const std::string& model_dir,
                            const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                            const ExpertLibrary& library, const Task* classifier,
                            const std::vector<Task>& tasks, const AdaptTableParams& params,
                            RunStore* store,
                            const std::function<void(const AdaptTableCell&)>& on_cell,
                            const JobContext& job) {
  namespace dat = detail::adapt_table;
  const std::vector<std::string> known = {"base",       "experts",         "prompt",
                                          "classifier", "classifier-soft", "few-shot"};
  AdaptTable table;
  for (const auto& row : params.rows) {
    if (std::find(known.begin(), known.end(), row) == known.end())
      throw Error(ErrorKind::InvalidArgument,
                  "unknown table row '" + row +
                      "'; use base, experts, prompt, classifier, classifier-soft, few-shot");
    if (row == "experts") {
      for (const auto& e : library.experts) table.rows.push_back("expert:" + e.category);
    } else {
      table.rows.push_back(row);
    }
    const bool dispatch = row == "prompt" || row == "classifier" || row == "classifier-soft";
    if (dispatch && !classifier)
      throw Error(ErrorKind::InvalidArgument,
                  "the " + row + " row needs the classification task of pass 1");
  }
  check_library_for_model(library, model_fingerprint(model_dir));
  for (const auto& t : tasks) table.tasks.push_back(t.spec().name);
  EvalRunInfo info;
  info.model_dir = model_dir;
  info.model_fingerprint = model_fingerprint(model_dir);
  info.architecture = model->config().architecture;
  auto add = [&](AdaptTableCell c) {
    table.cells.push_back(c);
    if (on_cell) on_cell(table.cells.back());
  };
  for (const auto& row : table.rows) {
    for (const auto& task : tasks) {
      job.throw_if_cancelled();
      const std::string& name = task.spec().name;
      job.report("table",
                 static_cast<double>(table.cells.size()) /
                     static_cast<double>(table.rows.size() * tasks.size()),
                 row + " on " + name);
      if (row == "base" || row.rfind("expert:", 0) == 0) {
        Session session(model);
        info.strategy = Strategy::base();
        if (row != "base") {
          const LibraryExpert* e = library.find(row.substr(7));
          info.strategy = Strategy::expert(library.resolve(*e));
          ApplyParams apply;
          apply.expected_tokens = 1e9;
          apply_strategy(session, model_dir, info.strategy, apply, job);
        }
        info.run_name = "adapt table " + row + " " + name + " " + params.eval.split;
        const StoredEvaluation s = evaluate_and_store(session, tokenizer, chat_template, task,
                                                      params.eval, store, info, job);
        add(dat::cell_of(row, name, s.report, s.run_id));
      } else if (row == "few-shot") {
        FewShotParams p = params.few_shot;
        p.eval = params.eval;
        p.evaluate_result = true;
        p.mix_file.clear();
        const FewShotReport f = few_shot_search(model, model_dir, tokenizer, chat_template, library,
                                                task, p, store, {}, job);
        add(dat::cell_of(row, name, f.report, f.run_id));
      } else {
        DispatchParams p;
        p.strategy = row == "prompt"       ? StrategyKind::Prompt
                     : row == "classifier" ? StrategyKind::Classifier
                                           : StrategyKind::ClassifierSoft;
        p.eval = params.eval;
        const DispatchReport d = evaluate_prompt_dispatch(
            model, model_dir, tokenizer, chat_template, library, *classifier, task, p, store, job);
        AdaptTableCell c = dat::cell_of(row, name, d.report, d.run_id);
        c.routing_accuracy = d.routing_accuracy;
        c.pass1_over_pass2 = d.pass2_seconds > 0 ? d.pass1_seconds / d.pass2_seconds : -1.0;
        add(c);
      }
    }
  }
  return table;
}

std::string adaptation_table_markdown(const AdaptTable& table) {
  namespace dat = detail::adapt_table;
  std::ostringstream out;
  out << "| method |";
  for (const auto& t : table.tasks) out << " " << t << " |";
  out << "\n|---|";
  for (std::size_t i = 0; i < table.tasks.size(); ++i) out << "---|";
  out << "\n";
  for (const auto& row : table.rows) {
    out << "| " << row << " |";
    for (const auto& task : table.tasks) {
      const AdaptTableCell* c = table.find(row, task);
      if (!c) {
        out << " |";
        continue;
      }
      double best = 0.0;
      for (const auto& other : table.cells)
        if (other.task == task) best = std::max(best, other.accuracy);
      const std::string value = dat::fixed(100.0 * c->accuracy, 1);
      out << " " << (c->accuracy == best ? "**" + value + "**" : value) << " ("
          << dat::fixed(100.0 * c->ci_low, 1) << "-" << dat::fixed(100.0 * c->ci_high, 1) << ")";
      if (c->routing_accuracy >= 0)
        out << " r " << dat::fixed(100.0 * c->routing_accuracy, 0) << "%";
      out << " |";
    }
    out << "\n";
  }
  out << "\nAccuracy % on " << (table.cells.empty() ? 0 : table.cells.front().n)
      << " items per task (95 % Wilson interval); r = pass-1 routing to the true category; bold = "
         "best of the column.\n";
  return out.str();
}

std::string adaptation_table_csv(const AdaptTable& table) {
  namespace dat = detail::adapt_table;
  std::ostringstream out;
  out << "row,task,n,correct,accuracy,ci_low,ci_high,routing_accuracy,pass1_over_pass2,run_id\n";
  for (const auto& c : table.cells) {
    out << dat::csv_field(c.row) << "," << dat::csv_field(c.task) << "," << c.n << "," << c.correct
        << "," << dat::fixed(c.accuracy, 6) << "," << dat::fixed(c.ci_low, 6) << ","
        << dat::fixed(c.ci_high, 6) << ",";
    if (c.routing_accuracy >= 0) out << dat::fixed(c.routing_accuracy, 6);
    out << ",";
    if (c.pass1_over_pass2 >= 0) out << dat::fixed(c.pass1_over_pass2, 6);
    out << "," << c.run_id << "\n";
  }
  return out.str();
}

}  // namespace t2
