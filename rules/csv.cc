#include "rules/csv.h"

namespace tandem::rules {

bool CsvReader::next(std::vector<std::string>& fields, size_t& start_line, std::string& error) {
  while (i_ < in_.size()) {
    fields.clear();
    start_line = line_;
    for (bool more = true; more;) {
      std::string f;
      if (i_ < in_.size() && in_[i_] == '"') {
        if (!quoted(f, start_line, error)) return false;
      } else {
        const size_t end = in_.find_first_of(",\r\n", i_);
        const size_t stop = end == std::string_view::npos ? in_.size() : end;
        f.assign(in_.substr(i_, stop - i_));
        i_ = stop;
      }
      fields.push_back(std::move(f));
      more = after_field();
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    return true;
  }
  return false;
}

bool CsvReader::quoted(std::string& f, size_t start_line, std::string& error) {
  ++i_;
  for (;;) {
    if (i_ >= in_.size()) {
      error = "line " + std::to_string(start_line) + ": unterminated quote";
      return false;
    }
    if (in_[i_] == '"') {
      if (i_ + 1 < in_.size() && in_[i_ + 1] == '"') {
        f += '"';
        i_ += 2;
        continue;
      }
      ++i_;
      break;
    }
    if (in_[i_] == '\n') ++line_;
    f += in_[i_++];
  }
  if (i_ < in_.size() && in_[i_] != ',' && in_[i_] != '\n' && in_[i_] != '\r') {
    error = "line " + std::to_string(line_) + ": text after a closing quote";
    return false;
  }
  return true;
}

bool CsvReader::after_field() {
  if (i_ < in_.size() && in_[i_] == ',') {
    ++i_;
    return true;
  }
  if (i_ < in_.size() && in_[i_] == '\r') ++i_;
  if (i_ < in_.size() && in_[i_] == '\n') {
    ++i_;
    ++line_;
  }
  return false;
}

bool parse_csv(std::string_view in, std::vector<std::vector<std::string>>& records,
               std::vector<size_t>& lines, std::string& error) {
  CsvReader reader(in);
  std::vector<std::string> fields;
  size_t line = 0;
  while (reader.next(fields, line, error)) {
    records.push_back(fields);
    lines.push_back(line);
  }
  return error.empty();
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace tandem::rules
