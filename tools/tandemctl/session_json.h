// How tandemctl shows dataplane replies: JSON for scripts, text for people.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dataplane_protocol/protocol.h"

namespace tandem::ctl {

nlohmann::json to_json(const tandem::dp::proto::SessionInfo& s);
nlohmann::json to_json(const tandem::dp::proto::HealthReply& h);
std::string session_line(const tandem::dp::proto::SessionInfo& s);
std::string session_detail(const tandem::dp::proto::SessionInfo& s);
std::string health_text(const tandem::dp::proto::HealthReply& h);
nlohmann::json to_json(const tandem::dp::proto::OffendersReply& r);
std::string offenders_text(const tandem::dp::proto::OffendersReply& r);

}  // namespace tandem::ctl
