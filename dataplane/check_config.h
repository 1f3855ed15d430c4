// tandem-dataplane [EAL options] -- --check-config [options]: what can be
// checked before EAL takes hugepages and devices (config_check/config_check.h):
// our flags, the lcores against the CPUs this process may use, the memory EAL
// will ask for against the free hugepages, each device (a PCI function bound to
// a DPDK driver, a vdev's interface or pcap file), the ports against the
// devices, the exception interfaces, the control socket and metrics address.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "dataplane/config.h"

namespace tandem::dp {

// Where the machine is read from: the real one by default, a tree built by a
// unit test otherwise.
struct Machine {
  std::string sys = "/sys";
  std::string mounts = "/proc/mounts";
  std::set<unsigned> cpus;  // this process's affinity; empty: read it
};

// Prints one line per check; 0 when none is an error, else 2. `eal` holds the
// arguments before `--`, without the program name.
int check_dataplane_config(const Config& c, const std::vector<std::string>& eal, Machine machine = {});

}  // namespace tandem::dp
