// CSV text as RFC 4180 has it: the format of the Rules DB's import and export
// (Store::import_csv, Store::export_csv).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::rules {

// RFC 4180 records one at a time, with the line each starts on; blank lines
// are skipped.
class CsvReader {
 public:
  explicit CsvReader(std::string_view in) : in_(in) {}

  // False at the end, or on bad quoting (`error` set).
  bool next(std::vector<std::string>& fields, size_t& start_line, std::string& error);

 private:
  // The quoted field at i_ (its opening quote).
  bool quoted(std::string& f, size_t start_line, std::string& error);
  // Past the comma after a field (true: another follows), or the record's line end.
  bool after_field();

  std::string_view in_;
  size_t i_ = 0;
  size_t line_ = 1;
};

// RFC 4180 records; `lines`: the line each starts on. False and why on bad quoting.
bool parse_csv(std::string_view in, std::vector<std::vector<std::string>>& records,
               std::vector<size_t>& lines, std::string& error);

// One field as a record has it: quoted if it holds a comma, a quote or a line break.
std::string csv_field(const std::string& v);

}  // namespace tandem::rules
