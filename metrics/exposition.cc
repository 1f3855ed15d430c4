#include "metrics/exposition.h"

#include <arpa/inet.h>

#include <httplib.h>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tandem::metrics {

namespace {

std::string escaped(std::string_view s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  name_ = name;
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped(help, false), name, type);
}

void Exposition::sample(double value, const Labels& labels) {
  text_ += name_;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i)
      text_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escaped(labels[i].second, true));
    text_ += '}';
  }
  text_ += fmt::format(" {}\n", value);
}

void Exposition::histogram(const Histogram& h, const Labels& labels) {
  const std::string base = name_;
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  uint64_t cumulative = 0;
  name_ = base + "_bucket";
  for (size_t i = 0; i < h.counts().size(); ++i) {
    cumulative += h.counts()[i];
    with_le.back().second = i < h.bounds().size() ? fmt::format("{}", h.bounds()[i]) : "+Inf";
    sample(static_cast<double>(cumulative), with_le);
  }
  name_ = base + "_sum";
  sample(h.sum(), labels);
  name_ = base + "_count";
  sample(static_cast<double>(cumulative), labels);
  name_ = base;
}

bool parse_listen(const std::string& listen, std::string& address, uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  address = listen.substr(0, colon);
  in_addr a{};
  unsigned p = 0;
  const char* end = listen.data() + listen.size();
  const auto [ptr, ec] = std::from_chars(listen.data() + colon + 1, end, p);
  if (inet_pton(AF_INET, address.c_str(), &a) != 1 || ec != std::errc() || ptr != end || p == 0 || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

std::string listen_problem(const std::string& listen) {
  std::string address;
  uint16_t port = 0;
  return parse_listen(listen, address, port) ? std::string() : "not IPV4:PORT";
}

TextServer::TextServer() = default;

TextServer::~TextServer() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

bool TextServer::start(const std::string& listen, std::string& error) {
  std::string address;
  uint16_t port = 0;
  if (!parse_listen(listen, address, port)) {
    error = "--metrics-listen " + listen + ": not IPV4:PORT";
    return false;
  }
  http_ = std::make_unique<httplib::Server>();
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard l(mutex_);
    res.set_content(text_, "text/plain; version=0.0.4; charset=utf-8");
  });
  if (!http_->bind_to_port(address.c_str(), port)) {
    error = "--metrics-listen " + listen + ": cannot listen there: " + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return true;
}

void TextServer::publish(std::string text) {
  std::lock_guard l(mutex_);
  text_.swap(text);
}

}  // namespace tandem::metrics
