// sofia-sip's memory homes owned by C++: one unref when the owner goes.
#pragma once

#include <memory>

#include <sofia-sip/su_alloc.h>

namespace tandem::control {

struct SuHomeUnref {
  void operator()(su_home_t* h) const { su_home_unref(h); }
};
using SuHome = std::unique_ptr<su_home_t, SuHomeUnref>;

inline SuHome new_su_home() { return SuHome(static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)))); }

}  // namespace tandem::control
