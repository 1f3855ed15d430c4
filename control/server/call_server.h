// The B2BUA on sofia-sip's transaction layer (nta): every new INVITE is
// checked, routed by the rules snapshot of the moment, anchored on the
// dataplane and offered to its targets in order; provisional and final answers,
// ACK, CANCEL, BYE and re-INVITE are relayed between the two dialogs; at the
// end the media session's counters go into the call's CDR.
//
// Single-threaded: nta, the timers, the dataplane's events and the control
// socket all run on one su_root. The rules reloader and the CDR writer have
// their own threads and are safe to call from this one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "attendant/prompt.h"
#include "attendant/prompt_engine.h"
#include "cdr/writer.h"
#include "control/server/call.h"
#include "control/server/call_histograms.h"
#include "control/server/config.h"
#include "control/server/counters.h"
#include "control/server/media.h"
#include "rules/reloader.h"

namespace tandem::control {

class CallServer : public rules::ProviderLoad {
 public:
  CallServer(const ServerConfig& config, su_root_t* root, Media& media, rules::Reloader& rules,
             cdr::Writer& cdrs, attendant::PromptEngine& attendant);
  ~CallServer() override;
  CallServer(const CallServer&) = delete;
  CallServer& operator=(const CallServer&) = delete;

  // Binds SIP on UDP and TCP and starts taking calls.
  bool start(std::string& error);
  // Ends every call (CANCEL or BYE both sides, CDRs written) and stops taking new ones.
  void shutdown();


  const Counters& counters() const { return counters_; }
  const CallHistograms& histograms() const { return histograms_; }
  size_t active_calls() const { return calls_.size(); }
  uint32_t capacity() const { return config_.capacity; }
  // Draining: our OPTIONS answers say so, and the SBCs send us no new calls;
  // the calls in progress go on (a restart without dropping a call).
  void set_draining(bool on);
  bool draining() const { return draining_; }
  // A graceful restart: draining, and once no call is left (or after
  // `deadline_s`, the rest then ended by shutdown()) `exit` runs; main's
  // stops the loop, and the process exits 0. Undraining cancels it.
  void set_exit(std::function<void()> exit) { exit_ = std::move(exit); }
  void exit_when_drained(uint32_t deadline_s);
  bool exiting() const { return exit_when_drained_; }
  const std::map<uint64_t, std::unique_ptr<Call>>& calls() const { return calls_; }
  uint32_t active_calls(rules::Id provider) const override;
  attendant::EngineStats attendant_stats() const { return attendant_.stats(); }
  size_t prompts_cached() const { return prompts_.size(); }
  nta_agent_t* agent() const { return agent_; }

 private:
  // Defined in the file each group names; the static functions are the
  // trampolines that nta and su_root call.

  // call_server.cc: the SIP stack.
  static int stray_cb(nta_agent_magic_t*, nta_agent_t*, msg_t*, sip_t*);
  // Our Contact towards `side`: TCP's for a caller that came over TCP.
  const char* contact_for(const Call& call, int side) const;

  // new_call.cc: a request outside any dialog; a new call up to its first target.
  static int default_leg_cb(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*);
  int on_new_request(nta_incoming_t* irq, const sip_t* sip);
  void answer_options(nta_incoming_t* irq);
  void new_call(nta_incoming_t* irq, const sip_t* sip, const Peer* peer, const PeerHost* host);
  // The call registered, the caller's dialog created and bound, 100 Trying sent.
  Call& open_call(nta_incoming_t* irq, const sip_t* sip);
  // The caller's offer, if any, anchored on a new media session; false: the call was refused.
  bool anchor_offer(Call& call, const sip_t* sip);
  // Our final answer to a call that reached no target, and its end.
  void refuse_call(Call& call, Counter counter, int status, const char* phrase, const std::string& why,
                   uint16_t warn = 399, bool retry_after = false);
  // This node cannot take the call now (no rules yet, no media relay): 503 with Retry-After, which
  // sends an SBC on to the next server (RFC 3261 21.5.4). A 503 about the call itself (no
  // provider reachable) has none: another server would answer it the same.
  void refuse_unavailable(Call& call, Counter counter, const std::string& why) {
    refuse_call(call, counter, 503, "Service Unavailable", why, 399, true);
  }

  // targets.cc: side B, target after target; the caller hears their answers.
  static int invite_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  static void setup_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static void ring_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static void max_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static void invite_expired(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  void send_invite(Call& call);
  void open_dialog_b(Call& call, const Target& target);
  int on_invite_response(Call& call, nta_outgoing_t* orq, const sip_t* sip);
  void target_ringing(Call& call, int status, const sip_t* sip);
  void target_answered(Call& call, const sip_t* sip);
  // The callee answered with SDP we cannot relay: the call ends, `reason` in its CDR, `error` in the log.
  void answer_unusable(Call& call, const char* reason, const std::string& error);
  void target_failed(Call& call, int status, const char* why);
  // No target left: the caller hears why (503 when the providers failed).
  void targets_exhausted(Call& call, int status, const char* why, bool providers_failed);
  void reply_a(Call& call, int status, const char* phrase, const std::string& sdp = {});
  // The current target's provider has one call less (LCR's max_calls), if it was counted.
  void release_provider(Call& call);
  void stop_timer(su_timer_t*& t);
  void start_timer(Call& call, su_timer_t*& t, uint64_t ms, void (*fire)(su_root_magic_t*, su_timer_t*, su_timer_arg_t*));

  // in_dialog.cc: requests within a call's dialogs, and the caller's CANCEL.
  static int leg_a_cb(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*);
  static int leg_b_cb(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*);
  static int relayed_cb(nta_outgoing_magic_t*, nta_outgoing_t*, const sip_t*);
  static int cancel_cb(nta_incoming_magic_t*, nta_incoming_t*, const sip_t*);
  int on_dialog_request(Call& call, int side, nta_incoming_t* irq, const sip_t* sip);
  void relay_request(Call& call, int from, nta_incoming_t* irq, const sip_t* sip);
  int on_relayed_response(Call& call, nta_outgoing_t* orq, const sip_t* sip);
  int on_cancel(Call& call, nta_incoming_t* irq);
  // The caller's INVITE ends before a final answer: 487 to it, CANCEL to the target.
  void terminate_invite(Call& call, cdr::Disposition disposition, const char* reason);

  // acks.cc: the ACKs of 2xx answers, and the delayed offer's answer an ACK brings.
  // The ACK of a 2xx to an INVITE we sent to `side` (nta ACKs the others itself);
  // with an offer in the 2xx it waits for the answer in the other side's ACK.
  void ack_2xx(Call& call, int side, const sip_t* response, bool offer_in_2xx);
  // The offer of that 2xx as relayed to the other side (`sdp`), which the answer in the
  // other side's ACK must match (RFC 3264 section 6); nothing when our ACK waits for none.
  void offer_relayed(Call& call, int side, const std::string& sdp);
  void send_ack(Call& call, int side);
  void on_ack(Call& call, int from, const sip_t* sip);
  // Our 2xx to `side`'s INVITE got no ACK within 64*T1 (nta's timer H): the call ends.
  void on_no_ack(Call& call, int side);
  // After the final answer to `side`'s request `irq`: released, or kept for its ACK when it
  // is an INVITE's 2xx.
  void release_answered(Call& call, int side, nta_incoming_t* irq, bool invite_2xx);

  // attendant_calls.cc: a menu call: answered by the attendant (its media
  // session's far end is this node, where the prompt engine answers on the
  // caller's relay port), the prompt, the caller's digits (RFC 4733 from the
  // engine, SIP INFO here), the timeouts and retries, and the transfer: the
  // attendant's session deleted, the callee's created on the caller's relay
  // port, the targets invited while the caller stays connected.
  static int attendant_event_cb(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  static void digit_timeout(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  void watch_attendant();
  void answer_menu(Call& call, const sip_t* sip);
  // The engine's session for the caller, once its media address and codec are known; false: the call ended.
  bool open_attendant(Call& call);
  // A delayed offer's ACK: the caller's answer to our offer, then the menu.
  void menu_answer_in_ack(Call& call, const sip_t* ack);
  // Menu `menu_id` from its start; `again`: the same menu after a timeout or invalid entry.
  void play_menu(Call& call, rules::Id menu_id, bool again);
  void prompt_finished(Call& call);
  void on_digit(Call& call, char digit);
  void entry_decided(Call& call, rules::MenuOutcome outcome);
  void menu_action(Call& call, const rules::Action& action);
  void transfer(Call& call, const rules::Action& action);
  // The attendant's session is gone (its final counters): the callee's takes the caller's port.
  void menu_media_moved(Call& call, const std::array<cdr::LegQuality, 2>& menu_quality);
  // INFO (digits), re-INVITE and the rest from the caller while the attendant has it.
  void on_menu_request(Call& call, nta_incoming_t* irq, const sip_t* sip);
  // The engine's session closed and the timers stopped (transfer, or the call's end).
  void close_menu(Call& call);

  // teardown.cc: a call's end, its BYEs, its CDR, its legs reaped.
  void hang_up(Call& call, cdr::HangupSide side, const std::string& reason, int from_side);
  void end(Call& call);
  // The requests still in flight answered; the transactions kept for an ACK released.
  void drop_transactions(Call& call);
  // The call's CDR to the writer, or to wait for its media session's final counters.
  void hand_off_record(Call& call);
  void send_bye(Call& call, int side);
  // At the answer: the call's record id, and the call kept as open by the CDR writer (billed even if we die).
  void open_record(Call& call);
  void submit_cdr(cdr::Record record, const std::string& call_id);
  void reap();

  // call_media.cc: the calls' media sessions on the dataplane.
  // SDP from `from` rewritten for the other side; the media leg of `from` updated.
  bool anchor_sdp(Call& call, int from, const sip_t* sip, std::string& out, std::string& error);
  // The dataplane's updates and deletes: sent now, or within kMediaFlushMs with
  // whatever else is queued (the next session's creation takes them along).
  void flush_media();
  void schedule_media_flush();
  void take_media_outcomes();
  // The dataplane's events: expired sessions end their calls (media timeout);
  // a closed connection means the dataplane went away: we reconnect, and
  // within --media-restore-deadline the calls get their sessions back and go
  // on; after it they end, their BYEs sent once SIP can leave the node.
  static int media_event_cb(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*);
  static void media_retry_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  static void media_sample_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  void watch_media();
  void on_media_timeouts();
  void on_media_lost();
  void retry_media();
  void end_media_recovery();
  void restore_calls();
  // Ends every call whose session the dataplane lost (their counters so far in the CDR).
  void give_up_media();
  // Whether our SIP address is up on an interface (it rides the dataplane's
  // exception port unless signalling has an interface of its own).
  bool sip_address_up() const;

  const ServerConfig& config_;
  su_root_t* root_;
  Media& media_;
  rules::Reloader& rules_;
  cdr::Writer& cdrs_;
  attendant::PromptEngine& attendant_;
  attendant::PromptCache prompts_;
  std::unordered_map<attendant::CallerId, Call*> by_caller_;
  su_wait_t attendant_wait_[1] = {};
  // The attendants' sessions being deleted before their calls' callees get the caller's port.
  std::unordered_map<uint64_t, uint64_t> moving_media_;  // session -> call serial
  Counters counters_;
  CallHistograms histograms_;
  nta_agent_t* agent_ = nullptr;
  nta_leg_t* default_leg_ = nullptr;
  std::string contact_udp_, contact_tcp_;
  uint64_t next_serial_ = 1;
  bool shutting_down_ = false;
  bool draining_ = false;
  bool exit_when_drained_ = false;
  std::function<void()> exit_;
  su_timer_t* drain_deadline_ = nullptr;
  static void drain_deadline_cb(su_root_magic_t*, su_timer_t*, su_timer_arg_t*);
  // reap()'s: the drained server's exit, once its last call is gone.
  void exit_if_drained();

  std::map<uint64_t, std::unique_ptr<Call>> calls_;          // by serial
  std::unordered_map<uint64_t, Call*> by_media_session_;
  std::unordered_map<rules::Id, uint32_t> provider_calls_;
  // Peers: the flags' and, per rules snapshot version, the providers' and VMs'.
  uint64_t peers_version_ = ~uint64_t{0};
  std::vector<PeerHost> rule_peers_;
  // Ended calls whose nta legs are destroyed on the next loop turn.
  std::vector<std::unique_ptr<Call>> graveyard_;
  su_wait_t media_wait_[1] = {};
  int media_wait_index_ = -1;
  su_timer_t* media_retry_ = nullptr;
  su_timer_t* media_flush_ = nullptr;
  su_timer_t* media_sample_ = nullptr;
  int64_t media_lost_ms_ = -1;    // when the dataplane went away; -1: it is there
  bool media_given_up_ = false;   // the calls ended: nothing to restore when it comes back
  bool media_back_ = false;       // reconnected, waiting for SIP to be able to send the BYEs
  static constexpr su_duration_t kMediaFlushMs = 10;
  // How often a lost dataplane is looked for: a restart costs the calls' media this long at most.
  static constexpr su_duration_t kMediaRetryMs = 200;
  // Ended calls' records waiting for their media session's final counters, by session.
  struct PendingRecord {
    cdr::Record record;
    std::string call_id;
    std::array<cdr::LegQuality, 2> earlier{};  // a menu call's: its attendant session's counters
  };
  std::unordered_map<uint64_t, PendingRecord> awaiting_media_;
};

}  // namespace tandem::control
