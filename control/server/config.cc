#include "control/server/config.h"

#include "config_check/command_line.h"
#include "dataplane_protocol/latch_mode.h"
#include "rules/reloader.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace tandem::control {

namespace {

void add_call_flags(CLI::App& app, ServerConfig& c) {
  app.add_option("--capacity", c.capacity, "concurrent calls; beyond: 503 with Retry-After")
      ->check(CLI::Range(1u, 1000000u))->capture_default_str();
  app.add_option("--retry-after", c.retry_after_s, "Retry-After of our 503s when this node cannot take a call (at capacity, draining, no rules or media relay), seconds")
      ->check(CLI::Range(1u, 3600u))->capture_default_str();
  app.add_option("--no-answer", c.no_answer_s, "seconds a callee may ring before it is cancelled")
      ->check(CLI::Range(1u, 600u))->capture_default_str();
  app.add_option("--provider-setup", c.provider_setup_ms,
                 "ms a provider may stay silent after our INVITE before the next one is tried")
      ->check(CLI::Range(100u, 60000u))->capture_default_str();
  app.add_flag("--failover-on-6xx", c.failover_on_6xx, "a provider's 6xx tries the next provider too");
  app.add_option("--max-call", c.max_call_s, "seconds an answered call may last before both sides get a BYE")
      ->check(CLI::Range(1u, 7u * 86400u))->capture_default_str();
}

void add_media_flags(CLI::App& app, ServerConfig& c) {
  app.add_option("--dataplane-socket", c.dataplane_socket, "tandem-dataplane's control socket")->capture_default_str();
  app.add_option("--media-latch", c.media_latch,
                 "who may send a call's media before it latched, when the SDP gave an address: address (that "
                 "address, any port: NAT), address-port, any (the SDPs are known wrong)")
      ->check(CLI::IsMember(std::vector<std::string>(dp::proto::kLatchModeNames.begin(), dp::proto::kLatchModeNames.end())))
      ->capture_default_str();
  app.add_option("--media-restore-deadline", c.media_restore_deadline_s,
                 "s: when the dataplane comes back within this, every call's media session is created again "
                 "(same relay ports and remotes) and the calls go on; after it, the calls end")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  app.add_option("--media-sample-interval", c.media_sample_s,
                 "s between reads of every session's counters, so that a dataplane restart loses at most this "
                 "long of a call's media counters (0: never)")
      ->check(CLI::Range(0u, 3600u))
      ->capture_default_str();
  app.add_option("--external-media", c.external_role,
                 "role of the dataplane port facing providers and SBCs (default: the first port)");
  app.add_option("--internal-media", c.internal_role,
                 "role of the dataplane port facing customers' VMs (default: the external one)");
  app.add_option("--attendant-rtprio", c.attendant_rtprio,
                 "SCHED_FIFO priority (1-99) of the attendant's media thread, so that other work on its core "
                 "does not delay the prompts' packets; needs CAP_SYS_NICE (0: ordinary scheduling)")
      ->check(CLI::Range(0, 99))
      ->capture_default_str();
}

void add_rules_flags(CLI::App& app, ServerConfig& c) {
  db::add_db_flags(app, c.rules_db, c.rules_db_flags);
  rules::add_reloader_flags(app, c.rules_poll_ms, c.rules_saved);
  app.add_option("--country-code", c.number_plan.country_code, "for national numbers")->capture_default_str();
  app.add_option("--national-prefix", c.number_plan.national_prefix, "trunk prefix")->capture_default_str();
  app.add_option("--international-prefix", c.number_plan.international_prefix, "")->capture_default_str();
}

int fail(const std::string& what) {
  std::cerr << "tandem-control: " << what << "\n";
  return 2;
}

}  // namespace

int parse_server_flags(int argc, char** argv, ServerConfig& c) {
  CLI::App app{
      "tandem-control: the call server. A B2BUA that routes calls by the Rules DB, anchors their\n"
      "media on tandem-dataplane and writes a CDR per call. SIP on UDP and TCP."};
  app.set_config("--config", "", "file with these flags (TOML or INI: name = value, lists as [..])");
  app.get_formatter()->column_width(40);
  SipFlagText sip;
  add_sip_flags(app, c.sip, sip, "allowed to send calls besides the Rules DB's providers and VMs (the SBCs)");
  add_call_flags(app, c);
  add_media_flags(app, c);
  add_process_flags(app, c, "server");
  add_rules_flags(app, c);
  cdr::add_cdr_flags(app, c.cdr);
  standard_flags(app);
  if (const int rc = parse_command_line(app, argc, argv, "tandem-control"); rc >= 0) return rc;
  std::string error;
  if (!finish_sip_flags(c.sip, sip, error)) return fail(error);
  if (!rules::validate_plan(c.number_plan, error)) return fail("number plan: " + error);
  if (!db::finish_db_flags(c.rules_db, c.rules_db_flags, error)) return fail(error);
  if (!cdr::finish_cdr_flags(c.cdr, error)) return fail(error);
  return -1;
}

}  // namespace tandem::control
