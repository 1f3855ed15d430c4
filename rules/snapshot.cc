// The Snapshot's own parts: construction and the lookups by id. Its build is
// in snapshot_build.cc, the lookups of calls in route_inbound.cc and
// route_outbound.cc, its index in compiled_index.h.
#include "rules/snapshot.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "rules/compiled_index.h"

namespace tandem::rules {

namespace {

#define TANDEM_RULES_NAME(n) #n,
constexpr std::array kMissNames{TANDEM_RULES_MISS_REASONS(TANDEM_RULES_NAME)};
constexpr std::array kSkipNames{TANDEM_RULES_PROVIDER_SKIPS(TANDEM_RULES_NAME)};
#undef TANDEM_RULES_NAME

}  // namespace

std::string_view name(MissReason r) { return kMissNames.at(static_cast<size_t>(r)); }
std::string_view name(ProviderSkip s) { return kSkipNames.at(static_cast<size_t>(s)); }

Snapshot::Snapshot(RulesData data, NumberPlan plan)
    : data_(std::move(data)), plan_(std::move(plan)), index_(std::make_unique<Index>()) {}

Snapshot::~Snapshot() = default;

const Customer* Snapshot::customer(Id id) const {
  auto it = index_->customers.find(id);
  return it == index_->customers.end() ? nullptr : &data_.customers[it->second];
}

const Menu* Snapshot::menu(Id id) const {
  auto it = index_->menus.find(id);
  return it == index_->menus.end() ? nullptr : &data_.menus[it->second];
}

const Provider* Snapshot::provider(Id id) const {
  auto it = index_->providers.find(id);
  return it == index_->providers.end() ? nullptr : &data_.providers[it->second];
}

const Number* Snapshot::number(std::string_view e164) const {
  uint64_t key = 0;
  if (!digits_key(e164, key) || index_->numbers.size() == 0) return nullptr;
  const Index::NumberSlot* s = index_->numbers.find(key, index_->numbers.home(key));
  return s ? &data_.numbers[s->number] : nullptr;
}

}  // namespace tandem::rules
