#include "actors/write_outbox.hpp"

#include <string>
#include <utility>

#include "actors/env.hpp"

namespace jobrt {

void write_outbox::add(storage::write_batch batch, callback then, proto::write_urgency u) {
  batch_.append(std::move(batch));
  end_write(std::move(then), u);
}

void write_outbox::add_record(std::shared_ptr<const job_record> rec, job_status replaces,
                              callback then, proto::write_urgency u) {
  batch_.put_record(std::move(rec), replaces); // straight in: twice per job
  end_write(std::move(then), u);
}

void write_outbox::end_write(callback then, proto::write_urgency u) {
  ends_.push_back(batch_.size());
  callbacks_.push_back(std::move(then));
  if (u == proto::write_urgency::caller_waits)
    ++awaited_;
}

write_outbox::departure write_outbox::take() {
  departure out{std::move(batch_), std::move(ends_), std::move(callbacks_), awaited_};
  batch_ = storage::write_batch{};
  ends_.clear();
  callbacks_.clear();
  awaited_ = 0;
  return out;
}

void write_outbox::settle(std::vector<callback> callbacks, std::vector<result<void>> results) {
  results.resize(callbacks.size(),
                 result<void>{error{errc::storage_error, "the writer gave no answer"}});
  for (std::size_t i = 0; i < callbacks.size(); ++i) {
    if (callbacks[i])
      callbacks[i](results[i]);
    else if (!results[i])
      log_line("background write failed: " + results[i].error().message);
  }
}

} // namespace jobrt
