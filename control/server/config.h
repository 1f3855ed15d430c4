// tandem-control's configuration: flags, or the same names in a file
// (--config, TOML or INI as CLI11 reads them) for the long lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cdr/flags.h"
#include "control/process_flags.h"
#include "control/sip/settings.h"
#include "db/flags.h"
#include "rules/store.h"

namespace tandem::control {

struct ServerConfig : ProcessFlags {
  ServerConfig() {
    control_socket = "/run/tandem/control.sock";
    node = "node1";
  }
  SipSettings sip;
  // Calls
  uint32_t capacity = 500;            // concurrent calls; beyond it 503 with Retry-After
  uint32_t retry_after_s = 30;
  uint32_t no_answer_s = 60;          // ringing longer: the callee is cancelled (no answer)
  uint32_t provider_setup_ms = 4000;  // a provider silent this long: next provider
  bool failover_on_6xx = false;       // 6xx from a provider: next one (else passed back)
  uint32_t max_call_s = 14400;        // answered calls are ended after this long
  // Media
  std::string dataplane_socket = "/run/tandem/dataplane.sock";
  std::string external_role;          // dataplane port facing providers and the SBC ("" = first port)
  std::string media_latch = "address";  // who may latch a leg whose remote the SDP gave (latch_mode.h)
  uint32_t media_restore_deadline_s = 10;  // a restarted dataplane gets the calls' sessions back until then
  uint32_t media_sample_s = 5;            // sessions' counters read this often (0: never): a restart loses less
  std::string internal_role;          // dataplane port facing the VMs ("" = the external one)
  int attendant_rtprio = 0;           // the attendant's media thread: SCHED_FIFO priority, 0: none
  // Rules
  rules::DbConfig rules_db;
  db::DbFlags rules_db_flags{.name = "rules", .what = "Rules DB", .password_file = {}};
  uint32_t rules_poll_ms = 1000;
  std::string rules_saved = "/var/lib/tandem/rules.saved";
  rules::NumberPlan number_plan;
  // CDRs
  cdr::CdrFlags cdr;
};

// Parses argv (and the --config file it names). Returns -1 to go on, else the
// exit code: 0 after --help, 2 after a bad flag (the error is printed).
int parse_server_flags(int argc, char** argv, ServerConfig& config);

// --check-config: prints each check (config_check/config_check.h); the exit code.
int check_server_config(const ServerConfig& config);

}  // namespace tandem::control
