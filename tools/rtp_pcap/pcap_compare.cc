#include "tools/rtp_pcap/pcap_compare.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tools/rtp_pcap/wire.h"

namespace tandem::rtp_pcap {
namespace {

struct Frame {
  std::span<const uint8_t> bytes;  // as captured: fewer than wire_len if the capture was cut short
  uint32_t wire_len;

  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  auto key() const { return std::pair{view(), wire_len}; }
};

// A whole capture in one buffer, so that frames are cheap to sort and match.
class Capture {
 public:
  // Returns an error message, empty on success.
  std::string load(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    std::unique_ptr<pcap_t, decltype(&pcap_close)> p(pcap_open_offline(path.c_str(), errbuf), pcap_close);
    if (!p) return errbuf;
    if (const int link = pcap_datalink(p.get()); link != DLT_EN10MB) {
      const char* name = pcap_datalink_val_to_name(link);
      return fmt::format("link type {} is not Ethernet", name ? name : std::to_string(link));
    }
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc;
    while ((rc = pcap_next_ex(p.get(), &h, &data)) == 1) {
      refs_.push_back({bytes_.size(), h->caplen, h->len});
      bytes_.insert(bytes_.end(), data, data + h->caplen);
    }
    if (rc != PCAP_ERROR_BREAK) return pcap_geterr(p.get());  // PCAP_ERROR_BREAK: end of file
    return {};
  }

  size_t size() const { return refs_.size(); }
  Frame operator[](size_t i) const {
    const Ref& r = refs_[i];
    return {std::span(bytes_).subspan(r.offset, r.caplen), r.wire_len};
  }

 private:
  struct Ref {
    size_t offset;
    uint32_t caplen;
    uint32_t wire_len;
  };
  std::vector<uint8_t> bytes_;
  std::vector<Ref> refs_;
};

// Where the headers are, as far as the frame decodes.
struct Layout {
  size_t l3 = 0;  // after Ethernet and any 802.1Q tag; 0 when not even Ethernet fits
  uint16_t ether_type = 0;
  std::optional<uint16_t> vlan_tci;
  bool ipv4 = false;  // a whole IPv4 header, options included, at l3
  size_t l4 = 0;      // after the IPv4 header
  size_t ip_end = 0;  // end of the IPv4 packet within the captured bytes
  bool udp = false;   // an unfragmented datagram with its UDP header at l4
};

Layout locate(std::span<const uint8_t> b) {
  Layout l;
  if (b.size() < sizeof(EthHeader)) return l;
  l.l3 = sizeof(EthHeader);
  l.ether_type = ntohs(load<EthHeader>(b.data()).type);
  if (l.ether_type == kEtherTypeVlan && b.size() >= l.l3 + sizeof(VlanTag)) {
    const auto tag = load<VlanTag>(b.data() + l.l3);
    l.vlan_tci = ntohs(tag.tci);
    l.ether_type = ntohs(tag.type);
    l.l3 += sizeof(VlanTag);
  }
  if (l.ether_type != kEtherTypeIpv4 || b.size() < l.l3 + sizeof(Ipv4Header)) return l;
  const auto ip = load<Ipv4Header>(b.data() + l.l3);
  const size_t header_len = (ip.version_ihl & 0x0fu) * 4u;
  if (ip.version_ihl >> 4 != 4 || header_len < sizeof(Ipv4Header) || b.size() < l.l3 + header_len) return l;
  l.ipv4 = true;
  l.l4 = l.l3 + header_len;
  l.ip_end = std::clamp<size_t>(l.l3 + ntohs(ip.total_len), l.l4, b.size());
  const bool fragment = ntohs(ip.flags_frag) & (kIpFlagMf | kIpFragOffsetMask);
  l.udp = ip.proto == kIpProtoUdp && !fragment && l.ip_end >= l.l4 + sizeof(UdpHeader);
  return l;
}

// Keys to pair up the packets left over from the multiset match. By UDP
// payload: a relay rewrites headers but forwards the RTP packet untouched. By
// flow: for a payload that changed on its way through.
std::optional<std::string> payload_key(const Frame& f) {
  const Layout l = locate(f.bytes);
  if (!l.udp) return std::nullopt;
  return std::string(f.view().substr(l.l4 + sizeof(UdpHeader), l.ip_end - l.l4 - sizeof(UdpHeader)));
}

std::optional<std::string> flow_key(const Frame& f) {
  const Layout l = locate(f.bytes);
  if (!l.udp) return std::nullopt;
  return std::string(f.view().substr(l.l3 + offsetof(Ipv4Header, src), 8)) + std::string(f.view().substr(l.l4, 4));
}

// One line to recognise a packet by, for those without a counterpart.
std::string summary(const Frame& f) {
  const Layout l = locate(f.bytes);
  if (!l.udp) return fmt::format("EtherType 0x{:04x}, {} bytes", l.ether_type, f.wire_len);
  const auto ip = load<Ipv4Header>(f.bytes.data() + l.l3);
  const auto udp = load<UdpHeader>(f.bytes.data() + l.l4);
  return fmt::format("{}:{} -> {}:{}, {} bytes", format_ipv4(ntohl(ip.src)), ntohs(udp.src_port),
                     format_ipv4(ntohl(ip.dst)), ntohs(udp.dst_port), f.wire_len);
}

// A decoded field. Byte-string fields (payloads) keep their raw bytes in
// `value` and are described by where they differ rather than printed whole.
struct Field {
  std::string_view name;
  std::string value;
  bool bytes = false;
};

std::string ip_flags(uint16_t flags_frag) {
  std::string s;
  for (auto [bit, name] : {std::pair{0x8000, "RB"}, {kIpFlagDf, "DF"}, {kIpFlagMf, "MF"}}) {
    if (flags_frag & bit) s += s.empty() ? name : fmt::format(",{}", name);
  }
  return s.empty() ? "none" : s;
}

std::vector<Field> describe(const Frame& f) {
  const auto b = f.bytes;
  const Layout l = locate(b);
  std::vector<Field> out;
  auto add = [&](std::string_view name, std::string value) { out.push_back({name, std::move(value)}); };
  auto add_bytes = [&](std::string_view name, size_t from, size_t to) {
    out.push_back({name, std::string(f.view().substr(from, to - from)), true});
  };

  add("frame.len", b.size() == f.wire_len ? std::to_string(f.wire_len)
                                           : fmt::format("{} ({} captured)", f.wire_len, b.size()));
  if (l.l3 == 0) {
    add_bytes("data", 0, b.size());
    return out;
  }
  const auto eth = load<EthHeader>(b.data());
  add("eth.dst", format_mac(eth.dst));
  add("eth.src", format_mac(eth.src));
  // The tag as one field, and eth.type the EtherType inside it, so that a
  // missing or wrong tag reads as one line.
  add("vlan", l.vlan_tci ? fmt::format("{} (pcp {}, dei {})", *l.vlan_tci & 0x0fff, *l.vlan_tci >> 13,
                                       (*l.vlan_tci >> 12) & 1)
                         : "none");
  add("eth.type", fmt::format("0x{:04x}", l.ether_type));
  if (!l.ipv4) {
    add_bytes("data", l.l3, b.size());
    return out;
  }
  const auto ip = load<Ipv4Header>(b.data() + l.l3);
  const uint16_t flags_frag = ntohs(ip.flags_frag);
  add("ip.version", std::to_string(ip.version_ihl >> 4));
  add("ip.ihl", std::to_string(ip.version_ihl & 0x0f));
  add("ip.tos", fmt::format("0x{:02x}", ip.tos));
  add("ip.len", std::to_string(ntohs(ip.total_len)));
  add("ip.id", fmt::format("0x{:04x}", ntohs(ip.id)));
  add("ip.flags", ip_flags(flags_frag));
  add("ip.frag_offset", std::to_string(flags_frag & kIpFragOffsetMask));
  add("ip.ttl", std::to_string(ip.ttl));
  add("ip.proto", std::to_string(ip.proto));
  add("ip.checksum", fmt::format("0x{:04x}", ntohs(ip.checksum)));
  add("ip.src", format_ipv4(ntohl(ip.src)));
  add("ip.dst", format_ipv4(ntohl(ip.dst)));
  if (l.l4 > l.l3 + sizeof(Ipv4Header)) add_bytes("ip.options", l.l3 + sizeof(Ipv4Header), l.l4);
  if (l.udp) {
    const auto udp = load<UdpHeader>(b.data() + l.l4);
    add("udp.srcport", std::to_string(ntohs(udp.src_port)));
    add("udp.dstport", std::to_string(ntohs(udp.dst_port)));
    add("udp.len", std::to_string(ntohs(udp.len)));
    add("udp.checksum", fmt::format("0x{:04x}", ntohs(udp.checksum)));
    add_bytes("payload", l.l4 + sizeof(UdpHeader), l.ip_end);
  } else {
    add_bytes("ip.payload", l.l4, l.ip_end);
  }
  if (l.ip_end < b.size()) add_bytes("eth.trailer", l.ip_end, b.size());
  return out;
}

std::string bytes_difference(std::string_view name, std::string_view e, std::string_view a) {
  const size_t at = static_cast<size_t>(std::ranges::mismatch(e, a).in1 - e.begin());
  if (e.size() != a.size()) {
    return fmt::format("{} expected {} bytes got {}{}", name, e.size(), a.size(),
                       at < std::min(e.size(), a.size()) ? fmt::format(" (first difference at byte {})", at) : "");
  }
  size_t differing = 0;
  for (size_t i = at; i < e.size(); ++i) differing += e[i] != a[i];
  return fmt::format("{} differs at byte {}: expected 0x{:02x} got 0x{:02x} ({} of {} bytes differ)", name, at,
                     static_cast<uint8_t>(e[at]), static_cast<uint8_t>(a[at]), differing, e.size());
}

std::string shown(const Field& f) { return f.bytes ? fmt::format("{} bytes", f.value.size()) : f.value; }

// "ip.dst expected 198.18.2.2 got 198.18.2.9", one line per field that differs.
std::vector<std::string> field_differences(const Frame& expected, const Frame& actual) {
  const auto e = describe(expected);
  const auto a = describe(actual);
  auto find = [](const std::vector<Field>& fields, std::string_view name) {
    return std::ranges::find(fields, name, &Field::name);
  };
  std::vector<std::string> out;
  for (const Field& ef : e) {
    const auto af = find(a, ef.name);
    if (af == a.end()) {
      out.push_back(fmt::format("{} expected {} got (absent)", ef.name, shown(ef)));
    } else if (af->value != ef.value) {
      out.push_back(ef.bytes && af->bytes ? bytes_difference(ef.name, ef.value, af->value)
                                          : fmt::format("{} expected {} got {}", ef.name, shown(ef), shown(*af)));
    }
  }
  for (const Field& af : a) {
    if (find(e, af.name) == e.end()) out.push_back(fmt::format("{} expected (absent) got {}", af.name, shown(af)));
  }
  if (out.empty()) out.push_back("frames differ");  // unreachable while the fields cover every byte
  return out;
}

// ACTUAL's checksums recomputed from its bytes alone: what the relay sent must
// be correct whatever EXPECTED says.
std::vector<std::string> checksum_problems(const Frame& f) {
  const Layout l = locate(f.bytes);
  if (!l.ipv4) return {};
  std::vector<std::string> out;
  const uint8_t* ip = f.bytes.data() + l.l3;
  const uint16_t ip_stored = ntohs(load<Ipv4Header>(ip).checksum);
  const uint16_t ip_correct = ipv4_checksum(ip, l.l4 - l.l3);
  if (ip_stored != ip_correct) {
    out.push_back(fmt::format("ip.checksum 0x{:04x} is wrong, recomputed 0x{:04x}", ip_stored, ip_correct));
  }
  if (!l.udp) return out;
  const uint8_t* udp = f.bytes.data() + l.l4;
  const auto h = load<UdpHeader>(udp);
  const size_t udp_len = ntohs(h.len);
  if (h.checksum == 0) return out;  // "no checksum", allowed over IPv4 (RFC 768)
  if (f.bytes.size() < f.wire_len) {
    out.push_back(fmt::format("udp.checksum unverifiable: {} of {} bytes captured", f.bytes.size(), f.wire_len));
    return out;
  }
  if (udp_len < sizeof(UdpHeader) || l.l4 + udp_len > l.ip_end) {
    out.push_back(fmt::format("udp.checksum unverifiable: udp.len {} does not fit the {} bytes of IPv4 payload",
                              udp_len, l.ip_end - l.l4));
    return out;
  }
  const uint16_t udp_stored = ntohs(h.checksum);
  const uint16_t udp_correct = udp_checksum(ip, udp, udp_len);
  if (udp_stored != udp_correct) {
    out.push_back(fmt::format("udp.checksum 0x{:04x} is wrong, recomputed 0x{:04x}", udp_stored, udp_correct));
  }
  return out;
}

// Prints difference lines up to the limit and counts what differs.
class Report {
 public:
  explicit Report(uint32_t max_lines) : max_lines_(max_lines) {}

  void line(std::string_view where, std::string_view what) {
    if (full()) {
      hidden_ = true;
      return;
    }
    fmt::print("{}: {}\n", where, what);
    ++lines_;
  }
  void differ(std::string_view where, const Frame& e, const Frame& a) {
    ++differing;
    if (full()) {  // decoding every differing packet of a large capture takes seconds
      hidden_ = true;
      return;
    }
    for (const auto& d : field_differences(e, a)) line(where, d);
  }
  void check(size_t actual_index, const Frame& a) {
    const auto problems = checksum_problems(a);
    if (!problems.empty()) ++bad_checksums;
    for (const auto& p : problems) line(fmt::format("actual packet {}", actual_index + 1), p);
  }
  void finish() const {
    if (hidden_) fmt::print("... more differences not shown (--max-diffs {})\n", max_lines_);
  }

  uint64_t differing = 0;
  uint64_t missing = 0;
  uint64_t unexpected = 0;
  uint64_t bad_checksums = 0;  // packets of ACTUAL with a wrong or unverifiable checksum

 private:
  bool full() const { return max_lines_ != 0 && lines_ >= max_lines_; }

  uint32_t max_lines_;
  uint32_t lines_ = 0;
  bool hidden_ = false;
};

void compare_in_order(const Capture& e, const Capture& a, Report& r) {
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    const auto where = fmt::format("packet {}", i + 1);
    if (i >= a.size()) {
      ++r.missing;
      r.line(where, fmt::format("missing from ACTUAL ({})", summary(e[i])));
      continue;
    }
    if (i >= e.size()) {
      ++r.unexpected;
      r.line(where, fmt::format("not in EXPECTED ({})", summary(a[i])));
    } else if (e[i].key() != a[i].key()) {
      r.differ(where, e[i], a[i]);
    }
    r.check(i, a[i]);
  }
}

std::vector<size_t> sorted_indices(const Capture& c) {
  std::vector<size_t> idx(c.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::ranges::sort(idx, {}, [&](size_t i) { return c[i].key(); });
  return idx;
}

// Pairs the leftovers of EXPECTED and ACTUAL that share a key, in capture
// order, and takes the paired ones off the lists.
template <typename KeyFn>
std::vector<std::pair<size_t, size_t>> pair_by(KeyFn key, const Capture& e, std::vector<size_t>& left_e,
                                                const Capture& a, std::vector<size_t>& left_a) {
  std::unordered_map<std::string, std::deque<size_t>> waiting;
  for (size_t j : left_a) {
    if (auto k = key(a[j])) waiting[*k].push_back(j);
  }
  std::vector<std::pair<size_t, size_t>> pairs;
  std::unordered_set<size_t> taken;
  std::vector<size_t> unpaired_e;
  for (size_t i : left_e) {
    const auto k = key(e[i]);
    const auto it = k ? waiting.find(*k) : waiting.end();
    if (it == waiting.end() || it->second.empty()) {
      unpaired_e.push_back(i);
      continue;
    }
    pairs.emplace_back(i, it->second.front());
    taken.insert(it->second.front());
    it->second.pop_front();
  }
  left_e = std::move(unpaired_e);
  std::erase_if(left_a, [&](size_t j) { return taken.contains(j); });
  return pairs;
}

void compare_as_multisets(const Capture& e, const Capture& a, Report& r) {
  // Identical frames cancel out; a merge of the two sorted captures finds the rest.
  const auto se = sorted_indices(e);
  const auto sa = sorted_indices(a);
  std::vector<size_t> left_e, left_a;
  for (size_t i = 0, j = 0; i < se.size() || j < sa.size();) {
    if (j == sa.size() || (i < se.size() && e[se[i]].key() < a[sa[j]].key())) {
      left_e.push_back(se[i++]);
    } else if (i == se.size() || a[sa[j]].key() < e[se[i]].key()) {
      left_a.push_back(sa[j++]);
    } else {
      ++i, ++j;
    }
  }
  std::ranges::sort(left_e);
  std::ranges::sort(left_a);

  // Show leftovers that stand for each other field by field, and only the
  // rest as missing or unexpected.
  auto pairs = pair_by(payload_key, e, left_e, a, left_a);
  std::ranges::move(pair_by(flow_key, e, left_e, a, left_a), std::back_inserter(pairs));
  std::ranges::sort(pairs);
  for (auto [i, j] : pairs) r.differ(fmt::format("packet {} (actual {})", i + 1, j + 1), e[i], a[j]);
  for (size_t i : left_e) {
    ++r.missing;
    r.line(fmt::format("packet {}", i + 1), fmt::format("no match in ACTUAL ({})", summary(e[i])));
  }
  for (size_t j : left_a) {
    ++r.unexpected;
    r.line(fmt::format("actual packet {}", j + 1), fmt::format("not in EXPECTED ({})", summary(a[j])));
  }
  for (size_t j = 0; j < a.size(); ++j) r.check(j, a[j]);
}

}  // namespace

int compare(const CompareOptions& o) {
  Capture expected, actual;
  for (auto [capture, path] : {std::pair{&expected, &o.expected}, {&actual, &o.actual}}) {
    if (auto err = capture->load(*path); !err.empty()) {
      fmt::print(stderr, "tandem-rtp-pcap: cannot read {}: {}\n", *path, err);
      return 2;
    }
  }

  Report r(o.max_diffs);
  if (o.ignore_order) {
    compare_as_multisets(expected, actual, r);
  } else {
    compare_in_order(expected, actual, r);
  }
  r.finish();

  const char* mode = o.ignore_order ? " (order ignored)" : "";
  if (r.differing + r.missing + r.unexpected + r.bad_checksums == 0) {
    fmt::print("equal{}: {} packets, ACTUAL's IPv4 and UDP checksums correct\n", mode, expected.size());
    return 0;
  }
  fmt::print("different{}: {} packets expected, {} actual; {} differ, {} missing, {} unexpected, {} with checksum problems\n",
             mode, expected.size(), actual.size(), r.differing, r.missing, r.unexpected, r.bad_checksums);
  return 1;
}

}  // namespace tandem::rtp_pcap
