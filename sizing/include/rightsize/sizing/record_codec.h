#pragma once

// The sizer's records as Redis holds them: an AppRecord as the fields of its
// hash (<prefix>app:<app_id>), a Decision as the fields of its stream entry
// (<prefix>decisions), names and formats as docs/sizer.md lists them. Pure,
// so that the store and the fuzzer (fuzz/redis_record_fuzz.cc) share them.
//
// What is read back is outside input (another program, an older or newer
// sizer or an operator may have written anything): a value that does not
// parse fails naming the entry and the field; unknown field names are left
// for a newer sizer.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/state_store.h"

namespace rightsize::sizing {

// Times as Unix seconds exact to the nanosecond, trailing zeros dropped
// ("1700000000.25"); the parser takes only that form (digits, an optional
// '-' and up to 9 decimals).
std::string formatUnixSeconds(TimePoint t);
std::optional<TimePoint> parseUnixSeconds(std::string_view text);

// Field names and values in order, as HSET takes them and HGETALL returns
// them. Unset optional fields are absent, not empty.
using RecordFields = std::vector<std::pair<std::string, std::string>>;

RecordFields appRecordFields(const AppRecord& record);
// Uses the names of /v1/decisions ("timestamp", "from_mem", "to_mem").
RecordFields decisionFields(const Decision& decision);

// `key` names the hash in errors. An app_id field naming another app, or a
// hash with no fields, is an error; so is a bad value of a field whose loss
// could let the sizer act sooner than it should (an intent, a cooldown, a
// hold, the downsizes spent). A bad value of a field whose loss only makes
// it wait longer or count less (out_of_band_since and the other waits'
// starts, last_change_at, resizes, scales) is forgotten
// instead, the rest of the record kept, and said in `forgotten` when given
// (else it is an error too).
Expected<AppRecord> parseAppRecord(const std::string& app_id, const std::string& key, const RecordFields& fields,
                                   std::vector<Error>* forgotten = nullptr);
// `entry` names the stream entry in errors; also reads the names older sizers
// wrote ("at", "from_mem_mib", "to_mem_mib").
Expected<Decision> parseDecision(const std::string& entry, const RecordFields& fields);

}  // namespace rightsize::sizing
