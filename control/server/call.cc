#include "control/server/call.h"

namespace tandem::control {

std::string_view name(CallState s) {
  switch (s) {
#define TANDEM_NAME_ITEM(n) \
  case CallState::n:        \
    return #n;
    TANDEM_CALL_STATES(TANDEM_NAME_ITEM)
#undef TANDEM_NAME_ITEM
  }
  return "?";
}

}  // namespace tandem::control
