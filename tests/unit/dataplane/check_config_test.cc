// tandem-dataplane --check-config against a machine built in a temp dir: its
// /sys (hugepages, PCI functions and their drivers, interfaces) and mounts.
#include "dataplane/check_config.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tandem::dp {
namespace {

namespace fs = std::filesystem;

class CheckConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/tandem-check-XXXXXX";
    root_ = mkdtemp(templ);
    machine_.sys = root_ + "/sys";
    machine_.mounts = root_ + "/mounts";
    machine_.cpus = {0, 1};
    write(machine_.mounts, "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n");
    hugepages(512, 512);
    fs::create_directories(machine_.sys + "/class/net/veth0");
    fs::create_directories(machine_.sys + "/bus/pci/drivers/vfio-pci");
    fs::create_directories(machine_.sys + "/bus/pci/drivers/ixgbe");
    pci("0000:03:00.0", "vfio-pci");
    pci("0000:03:00.1", "ixgbe");
    config_.ports.push_back({0, 0x010012c6, {}, 24, 0, 0, "public", "tdp0"});  // 198.18.0.1/24
    config_.max_sessions = 1000;
    config_.control_socket = root_ + "/run/dataplane.sock";
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  void hugepages(int nr, int free) {
    write(machine_.sys + "/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", std::to_string(nr) + "\n");
    write(machine_.sys + "/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", std::to_string(free) + "\n");
  }
  void pci(const std::string& address, const std::string& driver) {
    const std::string dev = machine_.sys + "/bus/pci/devices/" + address;
    fs::create_directories(dev);
    fs::create_symlink(machine_.sys + "/bus/pci/drivers/" + driver, dev + "/driver");
    fs::create_directories(machine_.sys + "/bus/pci/drivers/" + driver + "/" + address);
  }

  // The exit code; the printed lines in out_.
  int check(const std::vector<std::string>& eal) {
    ::testing::internal::CaptureStdout();
    const int rc = check_dataplane_config(config_, eal, machine_);
    out_ = ::testing::internal::GetCapturedStdout();
    return rc;
  }

  std::string root_;
  Machine machine_;
  Config config_;
  std::string out_;
};

TEST_F(CheckConfig, AGoodConfigurationOnHugepagesWithAPciPort) {
  EXPECT_EQ(check({"-l", "0-1", "--main-lcore", "0", "-a", "03:00.0", "-m", "256"}), 0) << out_;
  EXPECT_NE(out_.find("ok       lcores -l 0-1: the main one and 1 worker(s)"), std::string::npos) << out_;
  EXPECT_NE(out_.find("ok       hugepages: 1024 MB free of 1024 MB reserved"), std::string::npos) << out_;
  EXPECT_NE(out_.find("ok       -a 03:00.0: bound to vfio-pci"), std::string::npos) << out_;
  EXPECT_NE(out_.find("ok       --port 0 198.18.0.1/24 (public)"), std::string::npos) << out_;
  EXPECT_NE(out_.find("(made at the start)"), std::string::npos) << out_;
  EXPECT_FALSE(fs::exists(root_ + "/run")) << "a check makes nothing";
}

TEST_F(CheckConfig, WithoutAllowListEalProbesEveryFunctionBoundToDpdk) {
  config_.ports.push_back({1, 0x010112c6, {}, 24, 0, 0, "private", "tdp1"});
  EXPECT_EQ(check({"-l", "0-1"}), 2) << out_;
  EXPECT_NE(out_.find("error    --port 1 198.18.1.1/24: EAL gets 1 device(s), so no port 1"), std::string::npos)
      << out_;
  EXPECT_EQ(out_.find("--port 0 198.18.0.1/24:"), std::string::npos) << out_;
}

TEST_F(CheckConfig, EachMistakeIsNamed) {
  hugepages(512, 0);
  fs::create_directories(machine_.sys + "/class/net/tdp0");
  config_.ports[0].gateway = 0x0100000a;  // 10.0.0.1
  EXPECT_EQ(check({"-l", "0-2", "--main-lcore", "5", "-a", "0000:03:00.1", "-a", "0000:04:00.0", "--vdev",
                   "net_af_packet0,iface=eth9"}),
            2);
  for (const char* line :
       {"error    -l 0-2: CPU 2 is not one this process may run on (0,1)",
        "error    --main-lcore 5: not among the lcores (-l 0-2)",
        "error    hugepages: 0 MB free of 1024 MB reserved",
        "error    --vdev net_af_packet0,iface=eth9: no interface eth9 on this host",
        "error    -a 0000:03:00.1: bound to the kernel's ixgbe: bind it to vfio-pci (dpdk-devbind.py -b vfio-pci "
        "0000:03:00.1)",
        "error    -a 0000:04:00.0: no PCI device 0000:04:00.0 on this host",
        "error    --port 0 198.18.0.1/24: gw 10.0.0.1 is outside the subnet",
        "error    --port 0 198.18.0.1/24: exception interface tdp0 exists already"}) {
    EXPECT_NE(out_.find(line), std::string::npos) << line << "\n" << out_;
  }
}

TEST_F(CheckConfig, MemoryAndLcoreForms) {
  EXPECT_EQ(check({"-c", "0x3", "--socket-mem", "1024,512", "--vdev", "net_null0"}), 2);
  EXPECT_NE(out_.find("ok       lcores -c 0x3: the main one and 1 worker(s)"), std::string::npos) << out_;
  EXPECT_NE(out_.find("error    hugepages: -m/--socket-mem asks 1536 MB, 1024 MB free"), std::string::npos) << out_;
  EXPECT_EQ(check({"-l1", "--no-huge", "-m", "512", "--vdev=net_null0"}), 2);
  EXPECT_NE(out_.find("error    -l 1: one lcore; give at least two"), std::string::npos) << out_;
  EXPECT_NE(out_.find("ok       memory: --no-huge, ordinary memory (512 MB)"), std::string::npos) << out_;
  EXPECT_EQ(check({"-l", "0-x", "--no-huge", "--vdev", "net_null0"}), 2);
  EXPECT_NE(out_.find("error    -l 0-x: not a CPU list such as 0-3,6"), std::string::npos) << out_;
  EXPECT_EQ(check({"--lcores", "(0,1)@0", "--no-huge", "--vdev", "net_null0"}), 0) << out_;
}

TEST_F(CheckConfig, NoHugetlbfsAndTooFewRelayPorts) {
  write(machine_.mounts, "proc /proc proc rw 0 0\n");
  config_.max_sessions = 100000;
  EXPECT_EQ(check({"-l", "0-1", "--vdev", "net_null0"}), 2);
  EXPECT_NE(out_.find("error    hugepages: no hugetlbfs mounted"), std::string::npos) << out_;
  EXPECT_NE(out_.find("warning  --relay-ports 30000-39999: 5000 legs per address, 5000 on the port with the fewest "
                      "addresses, fewer than --max-sessions 100000"),
            std::string::npos)
      << out_;
  // Twenty addresses on the port carry them.
  config_.ports[0].more_ips.assign(19, 0);
  for (uint32_t i = 0; i < 19; ++i) config_.ports[0].more_ips[i] = htonl(0xc6120002u + i);  // 198.18.0.2...
  check({"-l", "0-1", "--vdev", "net_null0"});
  EXPECT_NE(out_.find("ok       --relay-ports 30000-39999: 5000 legs per address"), std::string::npos) << out_;
  EXPECT_NE(out_.find("--port 0 198.18.0.1/24 and 19 more addresses (public)"), std::string::npos) << out_;
  // One of them also another port's.
  config_.ports.push_back({1, static_cast<uint32_t>(htonl(0xc6120005u)), {}, 24, 0, 0, "private", "tdp1"});
  check({"-l", "0-1", "--vdev", "net_null0", "--vdev", "net_null1"});
  EXPECT_NE(out_.find("198.18.0.5 is an address of another port too"), std::string::npos) << out_;
}

}  // namespace
}  // namespace tandem::dp
