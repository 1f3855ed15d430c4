#include "dataplane/check_config.h"

#include <arpa/inet.h>
#include <sched.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "config_check/config_check.h"
#include "metrics/exposition.h"

namespace tandem::dp {

namespace fs = std::filesystem;

namespace {

// What of EAL's arguments the checks need; the rest EAL judges itself.
struct EalArgs {
  std::optional<std::set<unsigned>> lcores;  // -l, -c (unset: every CPU)
  std::string lcores_text;  // the flag and its value, to quote
  std::optional<unsigned> main_lcore;
  bool no_huge = false;
  uint64_t memory_mb = 0;  // -m, or --socket-mem's sum
  std::vector<std::string> vdevs, allowed;
  bool no_pci = false;
  std::string huge_dir;
  std::vector<std::string> problems;
};

// "0-3,6": nullopt when malformed.
std::optional<std::set<unsigned>> cpu_list(const std::string& text) {
  std::set<unsigned> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    unsigned lo = 0, hi = 0;
    const auto dash = part.find('-');
    const std::string a = part.substr(0, dash), b = dash == std::string::npos ? a : part.substr(dash + 1);
    if (std::from_chars(a.data(), a.data() + a.size(), lo).ptr != a.data() + a.size() || a.empty() ||
        std::from_chars(b.data(), b.data() + b.size(), hi).ptr != b.data() + b.size() || b.empty() || hi < lo ||
        hi >= 1024) {
      return std::nullopt;
    }
    for (unsigned cpu = lo; cpu <= hi; ++cpu) out.insert(cpu);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::set<unsigned>> cpu_mask(std::string text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text = text.substr(2);
  uint64_t mask = 0;
  if (text.empty() || text.size() > 16 ||
      std::from_chars(text.data(), text.data() + text.size(), mask, 16).ptr != text.data() + text.size() || !mask) {
    return std::nullopt;
  }
  std::set<unsigned> out;
  for (unsigned cpu = 0; cpu < 64; ++cpu)
    if (mask >> cpu & 1) out.insert(cpu);
  return out;
}

uint64_t number(const std::string& text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

EalArgs read_eal(const std::vector<std::string>& args) {
  EalArgs e;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // -l X, -lX, --lcores X, --lcores=X.
    auto value = [&](const char* short_name, const char* long_name, std::string& out) {
      const std::string s = short_name, l = long_name;
      if ((!s.empty() && a == s) || a == l) {
        if (i + 1 >= args.size()) return false;
        out = args[++i];
        return true;
      }
      if (!s.empty() && a.size() > 2 && a.starts_with(s) && !a.starts_with("--")) return out = a.substr(2), true;
      if (a.starts_with(l + "=")) return out = a.substr(l.size() + 1), true;
      return false;
    };
    std::string v;
    if (value("-l", "--lcores", v)) {
      e.lcores_text = (a.starts_with("--") ? "--lcores " : "-l ") + v;
      // --lcores' mapping forms (2@3, (4,5)@6) are EAL's to judge.
      if (v.find_first_of("@()") == std::string::npos && !(e.lcores = cpu_list(v)))
        e.problems.push_back("-l " + v + ": not a CPU list such as 0-3,6");
    } else if (value("-c", "--coremask", v)) {
      e.lcores_text = "-c " + v;
      if (!(e.lcores = cpu_mask(v))) e.problems.push_back("-c " + v + ": not a hexadecimal CPU mask");
    } else if (value("", "--main-lcore", v)) {
      e.main_lcore = static_cast<unsigned>(number(v));
    } else if (value("-m", "--memory", v)) {
      e.memory_mb = number(v);
    } else if (value("", "--socket-mem", v)) {
      std::stringstream in(v);
      for (std::string mb; std::getline(in, mb, ',');) e.memory_mb += number(mb);
    } else if (value("", "--vdev", v)) {
      e.vdevs.push_back(v);
    } else if (value("-a", "--allow", v) || value("-w", "--pci-whitelist", v)) {
      e.allowed.push_back(v.substr(0, v.find(',')));
    } else if (value("", "--huge-dir", v)) {
      e.huge_dir = v;
    } else if (a == "--no-huge") {
      e.no_huge = true;
    } else if (a == "--no-pci") {
      e.no_pci = true;
    }
  }
  return e;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_text(const std::set<unsigned>& cpus) {
  std::string out;
  for (unsigned c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

void check_lcores(const EalArgs& e, const Machine& m, ConfigCheck& check) {
  const std::set<unsigned> lcores = e.lcores.value_or(m.cpus);
  const std::string given = e.lcores_text.empty() ? "every CPU (no -l)" : e.lcores_text;
  if (!e.lcores_text.empty() && !e.lcores) {
    if (e.problems.empty()) check.ok("lcores " + e.lcores_text + ": EAL's mapping form, EAL checks it");
    return;
  }
  bool good = true;
  for (unsigned cpu : lcores) {
    if (!m.cpus.count(cpu)) {
      check.error(given + ": CPU " + std::to_string(cpu) + " is not one this process may run on (" +
                  cpu_text(m.cpus) + ")");
      good = false;
    }
  }
  if (e.main_lcore && !lcores.count(*e.main_lcore)) {
    check.error("--main-lcore " + std::to_string(*e.main_lcore) + ": not among the lcores (" + given + ")");
    good = false;
  }
  if (lcores.size() < 2) {
    check.error(given + ": one lcore; give at least two, the main one and a worker");
  } else if (good) {
    check.ok("lcores " + given + ": the main one and " + std::to_string(lcores.size() - 1) + " worker(s)");
  }
}

void check_memory(const EalArgs& e, const Machine& m, ConfigCheck& check) {
  if (e.no_huge) {
    check.ok("memory: --no-huge, ordinary memory" + (e.memory_mb ? " (" + std::to_string(e.memory_mb) + " MB)" : "") +
             ": one process only (no secondary processes, no memif)");
    return;
  }
  bool mounted = !e.huge_dir.empty() && fs::is_directory(e.huge_dir);
  std::ifstream mounts(m.mounts);
  for (std::string device, dir, type, rest; mounts >> device >> dir >> type && std::getline(mounts, rest);)
    mounted |= type == "hugetlbfs";
  if (!mounted) check.error("hugepages: no hugetlbfs mounted (mount -t hugetlbfs nodev /dev/hugepages), or --no-huge");
  uint64_t free_mb = 0, total_mb = 0;
  std::error_code ec;
  for (const auto& size_dir : fs::directory_iterator(m.sys + "/kernel/mm/hugepages", ec)) {
    const std::string name = size_dir.path().filename();  // hugepages-2048kB
    const uint64_t kb = number(name.substr(name.find('-') + 1));
    free_mb += number(read_line(size_dir.path() / "free_hugepages")) * kb / 1024;
    total_mb += number(read_line(size_dir.path() / "nr_hugepages")) * kb / 1024;
  }
  const std::string figures = std::to_string(free_mb) + " MB free of " + std::to_string(total_mb) + " MB reserved";
  if (free_mb == 0)
    check.error("hugepages: " + figures +
                " (reserve some: /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages), or --no-huge");
  else if (e.memory_mb > free_mb)
    check.error("hugepages: -m/--socket-mem asks " + std::to_string(e.memory_mb) + " MB, " + figures);
  else if (mounted)
    check.ok("hugepages: " + figures);
}

// "key=value" of a vdev's arguments.
std::string vdev_arg(const std::string& vdev, const std::string& key) {
  std::stringstream in(vdev);
  for (std::string part; std::getline(in, part, ',');)
    if (part.starts_with(key + "=")) return part.substr(key.size() + 1);
  return {};
}

void check_vdev(const std::string& vdev, const Machine& m, ConfigCheck& check) {
  const std::string what = "--vdev " + vdev;
  const std::string driver = vdev.substr(0, vdev.find(','));
  bool named = false;
  for (const char* key : {"iface", "rx_iface", "tx_iface", "rx_iface_in"}) {
    const std::string iface = vdev_arg(vdev, key);
    if (iface.empty() || driver.starts_with("net_tap")) continue;
    named = true;
    if (fs::exists(m.sys + "/class/net/" + iface))
      check.ok(what + ": interface " + iface);
    else
      check.error(what + ": no interface " + iface + " on this host (in this namespace)");
  }
  if (const std::string rx = vdev_arg(vdev, "rx_pcap"); !rx.empty()) {
    check.readable(what + ": rx_pcap", rx);
    named = true;
  }
  if (const std::string tx = vdev_arg(vdev, "tx_pcap"); !tx.empty()) {
    check.parent_directory(what + ": tx_pcap", tx, false);
    named = true;
  }
  if (!named) check.ok(what);
}

void check_pci(const std::string& given, const Machine& m, ConfigCheck& check) {
  const std::string address = std::count(given.begin(), given.end(), ':') == 1 ? "0000:" + given : given;
  const std::string what = "-a " + given;
  const fs::path dev = m.sys + "/bus/pci/devices/" + address;
  std::error_code ec;
  if (!fs::exists(dev, ec)) return check.error(what + ": no PCI device " + address + " on this host");
  const std::string driver = fs::read_symlink(dev / "driver", ec).filename();
  if (driver == "vfio-pci" || driver == "uio_pci_generic" || driver == "igb_uio") {
    check.ok(what + ": bound to " + driver);
  } else if (driver.starts_with("mlx")) {
    check.ok(what + ": " + driver + " (bifurcated: DPDK shares it with the kernel)");
  } else {
    check.error(what + ": " + (driver.empty() ? "bound to no driver" : "bound to the kernel's " + driver) +
                ": bind it to vfio-pci (dpdk-devbind.py -b vfio-pci " + address + ")");
  }
}

// The PCI functions EAL would probe without -a: those bound to a DPDK driver.
size_t dpdk_bound_pci(const Machine& m) {
  size_t n = 0;
  std::error_code ec;
  for (const char* driver : {"vfio-pci", "uio_pci_generic", "igb_uio"})
    for (const auto& entry : fs::directory_iterator(m.sys + "/bus/pci/drivers/" + driver, ec))
      n += std::string(entry.path().filename()).find(':') != std::string::npos;
  return n;
}

bool in_subnet(uint32_t a_net, uint32_t b_net, uint8_t len) {
  const uint32_t mask = len ? ~uint32_t{0} << (32 - len) : 0;
  return (ntohl(a_net) & mask) == (ntohl(b_net) & mask);
}

std::string ip_text(uint32_t net) {
  char out[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &net, out, sizeof out);
}

void check_ports(const Config& c, const EalArgs& e, const Machine& m, ConfigCheck& check) {
  const size_t devices = e.vdevs.size() + (!e.allowed.empty() ? e.allowed.size() : e.no_pci ? 0 : dpdk_bound_pci(m));
  std::set<uint32_t> ips;
  std::set<std::string> taps;
  for (const PortConfig& p : c.ports) {
    const std::string what = "--port " + std::to_string(p.port_id) + " " + ip_text(p.ip) + "/" +
                             std::to_string(p.prefix_len) +
                             (p.more_ips.empty() ? "" : " and " + std::to_string(p.more_ips.size()) + " more addresses");
    bool good = true;
    auto bad = [&](const std::string& why) {
      check.error(what + ": " + why);
      good = false;
    };
    if (p.port_id >= devices)
      bad("EAL gets " + std::to_string(devices) + " device(s), so no port " + std::to_string(p.port_id) +
          " (ports count from 0 in probe order: PCI functions, then vdevs; add one with -a or --vdev)");
    for (uint32_t ip : relay_addresses(p)) {
      if (!ips.insert(ip).second) bad(ip_text(ip) + " is an address of another port too");
    }
    if (p.gateway && !in_subnet(p.gateway, p.ip, p.prefix_len))
      bad("gw " + ip_text(p.gateway) + " is outside the subnet");
    if (c.exception_path) {
      if (!taps.insert(p.tap_name).second) bad("exception interface " + p.tap_name + " named for another port too");
      if (fs::exists(m.sys + "/class/net/" + p.tap_name))
        bad("exception interface " + p.tap_name + " exists already (another dataplane running?)");
    }
    if (good) check.ok(what + (p.role.empty() ? "" : " (" + p.role + ")"));
  }
  const uint32_t legs = (c.relay_port_max - c.relay_port_min + 1u) / 2;
  size_t fewest = SIZE_MAX;
  for (const PortConfig& p : c.ports) fewest = std::min(fewest, 1 + p.more_ips.size());
  if (fewest == SIZE_MAX) fewest = 1;
  const uint64_t per_port = uint64_t{legs} * fewest;
  const std::string range = "--relay-ports " + std::to_string(c.relay_port_min) + "-" + std::to_string(c.relay_port_max);
  if (c.max_sessions > per_port)
    check.warning(range + ": " + std::to_string(legs) + " legs per address, " + std::to_string(per_port) +
                  " on the port with the fewest addresses, fewer than --max-sessions " +
                  std::to_string(c.max_sessions) + " (a session takes a leg on each of its ports; "
                  "give the port more addresses)");
  else
    check.ok(range + ": " + std::to_string(legs) + " legs per address");
}

}  // namespace

int check_dataplane_config(const Config& c, const std::vector<std::string>& eal, Machine machine) {
  ConfigCheck check;
  if (machine.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) machine.cpus.insert(cpu);
  }
  check.ok("flags parsed: " + std::to_string(c.ports.size()) + " port(s), " + std::to_string(c.max_sessions) +
           " sessions max");
  const EalArgs e = read_eal(eal);
  for (const auto& problem : e.problems) check.error(problem);
  check_lcores(e, machine, check);
  check_memory(e, machine, check);
  for (const auto& vdev : e.vdevs) check_vdev(vdev, machine, check);
  for (const auto& pci : e.allowed) check_pci(pci, machine, check);
  check_ports(c, e, machine, check);
  check.parent_directory("control socket", c.control_socket, true);
  std::string address;
  uint16_t port = 0;
  if (!c.metrics_listen.empty() && metrics::parse_listen(c.metrics_listen, address, port))
    check.bindable("metrics", address, port, false);
  return check.exit_code();
}

}  // namespace tandem::dp
