// tandem-control: the call server. Flags (control/server/config.h), then the
// rules, the CDR writer, the dataplane, SIP and the operator socket, all on one
// su_root loop until SIGINT or SIGTERM; then every call is ended and its CDR
// written before the process exits.
#include <spdlog/spdlog.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include <chrono>
#include <thread>

#include "attendant/prompt_engine.h"
#include "cdr/mysql_sink.h"
#include "cdr/writer.h"
#include "dataplane_protocol/latch_mode.h"
#include "control/server/call_server.h"
#include "control/server/config.h"
#include "control/server/metrics.h"
#include "control/metrics.h"
#include "control/operator_socket.h"
#include "control/server/operator_commands.h"
#include "control/server/media.h"
#include "control/sip/sip_loop.h"
#include "rules/reloader.h"
#include "rules/store.h"

namespace {

// The dataplane may start after us (or restart): wait for it, bounded.
bool open_media(tandem::control::Media& media, const tandem::control::ServerConfig& c, std::string& error) {
  for (int attempt = 0; attempt < 30; ++attempt) {
    if (media.open(c.dataplane_socket, c.external_role, c.internal_role, error)) return true;
    if (attempt == 0) spdlog::warn("{}: retrying for 30 s", error);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  control::ServerConfig config;
  if (int rc = control::parse_server_flags(argc, argv, config); rc >= 0) return rc;
  if (config.check_config) return control::check_server_config(config);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  control::keep_freed_memory_mapped();

  rules::Store store(config.rules_db, config.number_plan);
  rules::StoreSource source(store);
  rules::Reloader reloader(source, config.number_plan, std::chrono::milliseconds(config.rules_poll_ms),
                           config.rules_saved);
  std::string error;
  if (!reloader.reload(true, error) && !reloader.current())
    spdlog::error("rules: {} (calls get 503 until a load succeeds; retrying every {} ms)", error, config.rules_poll_ms);
  reloader.start();

  cdr::Writer writer(config.cdr.writer, std::make_unique<cdr::MysqlSink>(config.cdr.db));
  std::vector<std::string> warnings;
  if (!writer.start(error, &warnings)) {
    spdlog::critical("CDR writer: {}", error);
    return 1;
  }
  for (const auto& w : warnings) spdlog::warn("CDR spool: {}", w);

  control::Media media(*dp::proto::latch_mode_bits(config.media_latch));
  if (!open_media(media, config, error)) {
    spdlog::critical("{}", error);
    return 1;
  }

  su_init();
  int rc = 0;
  {
    control::SipLoop loop;
    su_root_t* root = loop.root();
    if (!loop.sleeps_on_epoll()) spdlog::warn("sofia-sip's poller is not epoll: using su_root_run()");
    attendant::PromptEngine attendant(attendant::EngineOptions{.realtime_priority = config.attendant_rtprio});
    if (config.attendant_rtprio && !attendant.stats().realtime)
      spdlog::warn("the attendant's media thread did not get SCHED_FIFO {} (needs CAP_SYS_NICE)", config.attendant_rtprio);
    control::CallServer server(config, root, media, reloader, writer, attendant);
    control::OperatorSocket control_socket(root);
    control::add_server_commands(control_socket, server, reloader, writer);
    control::MetricsServer metrics(root, [&] { return control::server_metrics(server, reloader, writer); });
    server.set_exit([&loop] { loop.stop(); });
    if (!server.start(error) || !control_socket.open(config.control_socket, error) ||
        (!config.metrics_listen.empty() && !metrics.start(config.metrics_listen, error)) ||
        !loop.stop_on_signals()) {
      spdlog::critical("{}", error);
      rc = 1;
    } else {
      spdlog::info("tandem-control {} {} ready; operator socket {}", config.dc, config.node, config.control_socket);
      loop.run();
      server.shutdown();
      // The BYEs and CANCELs of the shutdown leave before the stack closes.
      for (int i = 0; i < 50; ++i) su_root_step(root, 10);
    }
  }
  su_deinit();
  writer.stop();
  reloader.stop();
  spdlog::info("stopped; CDR writer: {} written, {} in the spool", writer.stats().written, writer.stats().spool_bytes);
  return rc;
}
