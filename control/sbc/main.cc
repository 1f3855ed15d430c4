// tandem-sbc: flags (control/sbc/config.h), then the providers (the Rules DB,
// when one is given), SIP, the probes and the operator socket, all on one
// su_root loop until SIGINT or SIGTERM. Nothing of a call outlives the
// process but its transactions in progress: the dialogs go on through the
// next SBC that gets their requests.
#include <spdlog/spdlog.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include <memory>

#include "control/metrics.h"
#include "control/operator_socket.h"
#include "control/sbc/config.h"
#include "control/sbc/metrics.h"
#include "control/sbc/operator_commands.h"
#include "control/sbc/sbc.h"
#include "control/sip/sip_loop.h"
#include "rules/reloader.h"
#include "rules/store.h"

int main(int argc, char** argv) {
  using namespace tandem;
  control::sbc::SbcConfig config;
  if (int rc = control::sbc::parse_sbc_flags(argc, argv, config); rc >= 0) return rc;
  if (config.check_config) return control::sbc::check_sbc_config(config);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  control::keep_freed_memory_mapped();

  std::unique_ptr<rules::Store> store;
  std::unique_ptr<rules::StoreSource> source;
  std::unique_ptr<rules::Reloader> reloader;
  if (config.rules) {
    rules::NumberPlan plan;
    store = std::make_unique<rules::Store>(config.rules_db, plan);
    source = std::make_unique<rules::StoreSource>(*store);
    reloader = std::make_unique<rules::Reloader>(*source, plan, std::chrono::milliseconds(config.rules_poll_ms),
                                                 config.rules_saved);
    std::string error;
    if (!reloader->reload(true, error) && !reloader->current())
      spdlog::error("rules: {} (only --peer and the servers may send until a load succeeds)", error);
    reloader->start();
  }

  su_init();
  int rc = 0;
  {
    control::SipLoop loop;
    su_root_t* root = loop.root();
    control::sbc::Sbc sbc(config, root, reloader.get());
    control::OperatorSocket operator_socket(root);
    control::sbc::add_sbc_commands(operator_socket, sbc);
    control::MetricsServer metrics(root, [&sbc] { return control::sbc::sbc_metrics(sbc); });
    std::string error;
    if (!sbc.start(error) || !operator_socket.open(config.control_socket, error) ||
        (!config.metrics_listen.empty() && !metrics.start(config.metrics_listen, error)) ||
        !loop.stop_on_signals()) {
      spdlog::critical("{}", error);
      rc = 1;
    } else {
      spdlog::info("tandem-sbc {} {} ready; operator socket {}", config.dc, config.node, config.control_socket);
      loop.run();
    }
  }
  su_deinit();
  if (reloader) reloader->stop();
  return rc;
}
