"""A sipp scenario for a caller into a menu, written per test from its steps:
sipp plays a pcap named in the scenario itself (not from a -key), so the
digits are part of the file.

Steps, in order after the ACK:
  ("pause", ms)
  ("rfc4733", digit)                 sipp's own dtmf_2833_DIGIT.pcap on the media stream
  ("info", digit)                    SIP INFO, application/dtmf-relay (Signal=DIGIT)
  ("info_dtmf", digit)               SIP INFO, application/dtmf (the digit alone)
  ("media", ms)                      the caller's own RTP (pcmu_1s.pcap) for about ms
  ("bye",)                           the caller hangs up
  ("wait_bye", ms)                   the server hangs up within ms; answered 200

sipp's DTMF captures share one SSRC and their RTP timestamps rise with the
digit (1 < 0 < 2 < ... < 9): a caller's digits are taken in that order, each
once, as a phone's would be.
"""

import os

SIPP_SHARE = "/usr/share/sip-tester"
SIP_SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sip", "scenarios")

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="menu caller">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-inv
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      User-Agent: sipp menu caller
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true" timeout="30000"/>
  <recv response="200" rrs="true" timeout="30000">
    <action>
      <ereg regexp="m=audio ([0-9]+) RTP/AVP ([0-9]+)" search_in="body" check_it="true" assign_to="a_m,answer_port,answer_pt"/>
      <log message="ANSWER call=[call_number] port=[$answer_port] pt=[$answer_pt] line=[$a_m]"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""

_IN_DIALOG = """  <send retrans="500">
    <![CDATA[

      {method} [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
{headers}      Content-Length: [len]
{body}
    ]]>
  </send>
  <recv response="200" timeout="10000"/>
"""

_WAIT_BYE = """  <recv request="BYE" timeout="{ms}">
    <action>
      <log message="BYE_RECEIVED call=[call_number]"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


_ANSWER_PCMA = """      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000"""


def _delayed(head):
    """The INVITE without SDP; the ACK with the answer (PCMA) to the offer of the 200."""
    invite_start = head.index("      Content-Type: application/sdp")
    invite_end = head.index("    ]]>", invite_start)
    head = head[:invite_start] + "      Content-Length: 0\n\n" + head[invite_end:]
    ack_tail = head.rindex("      Content-Length: 0")
    body = ("      Content-Type: application/sdp\n      Content-Length: [len]\n\n      v=0\n"
            "      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]\n      s=-\n"
            "      c=IN IP[media_ip_type] [media_ip]\n      t=0 0\n" + _ANSWER_PCMA + "\n      a=sendrecv\n")
    return head[:ack_tail] + body + head[ack_tail + len("      Content-Length: 0\n"):]


def scenario(steps, delayed_offer=False):
    parts = [_delayed(_HEAD) if delayed_offer else _HEAD]
    cseq = 2
    for step in steps:
        kind = step[0]
        if kind == "pause":
            parts.append(f'  <pause milliseconds="{step[1]}"/>\n')
        elif kind == "rfc4733":
            pcap = os.path.join(SIPP_SHARE, f"dtmf_2833_{step[1]}.pcap")
            # The capture lasts 140 ms; sipp plays it in the background.
            parts.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
                         '  <pause milliseconds="200"/>\n')
        elif kind in ("info", "info_dtmf"):
            digit = step[1]
            if kind == "info":
                headers, body = "      Content-Type: application/dtmf-relay\n", f"\n      Signal={digit}\n      Duration=160\n"
            else:
                headers, body = "      Content-Type: application/dtmf\n", f"\n      {digit}\n"
            parts.append(_IN_DIALOG.format(method="INFO", cseq=cseq, headers=headers, body=body))
            cseq += 1
        elif kind == "media":
            pcap = os.path.join(SIP_SCENARIOS, "pcmu_1s.pcap")
            for _ in range(max(1, step[1] // 1000)):
                parts.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
                             '  <pause milliseconds="1000"/>\n')
        elif kind == "bye":
            parts.append(_IN_DIALOG.format(method="BYE", cseq=cseq, headers="", body=""))
            cseq += 1
        elif kind == "wait_bye":
            parts.append(_WAIT_BYE.format(ms=step[1]))
        else:
            raise ValueError(f"unknown step {step}")
    parts.append("</scenario>\n")
    return "".join(parts)


def write(path, steps, delayed_offer=False):
    with open(path, "w") as f:
        f.write(scenario(steps, delayed_offer))
    return path
