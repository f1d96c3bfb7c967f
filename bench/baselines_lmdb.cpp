// Raw LMDB baselines, measured in the same run as the jobrt scenarios: records of
// the size jobrt stores, written and read with <lmdb.h> directly (no jobrt).

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <lmdb.h>

#include "bench.hpp"

namespace bench {

namespace {

void check(int rc, const char* what) {
  if (rc != 0)
    throw std::runtime_error(std::string{"raw LMDB: "} + what + ": " + mdb_strerror(rc));
}

struct raw_env {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  raw_env(const std::string& dir, std::size_t map_bytes, bool sync) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    check(mdb_env_create(&env), "env_create");
    check(mdb_env_set_maxdbs(env, 4), "set_maxdbs");
    check(mdb_env_set_mapsize(env, map_bytes), "set_mapsize");
    check(mdb_env_open(env, dir.c_str(), MDB_NOTLS | (sync ? 0u : unsigned{MDB_NOSYNC}), 0644),
          "env_open");
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &t), "txn_begin");
    check(mdb_dbi_open(t, "jobs", MDB_CREATE, &dbi), "dbi_open");
    check(mdb_txn_commit(t), "commit");
  }
  ~raw_env() {
    mdb_env_close(env);
  }
  raw_env(const raw_env&) = delete;
  raw_env& operator=(const raw_env&) = delete;

  /// Puts `value` (its first bytes set to the key, so that no two values are equal)
  /// under the u64 big-endian key `id + 1`.
  void put(MDB_txn* t, std::string& value, std::size_t id) {
    unsigned char key[8];
    auto k64 = static_cast<std::uint64_t>(id) + 1;
    for (int b = 7; b >= 0; --b, k64 >>= 8)
      key[b] = static_cast<unsigned char>(k64 & 0xff);
    std::memcpy(value.data(), key, std::min<std::size_t>(8, value.size()));
    MDB_val k{sizeof key, key}, v{value.size(), value.data()};
    if (int rc = mdb_put(t, dbi, &k, &v, 0); rc != 0) {
      mdb_txn_abort(t);
      check(rc, "put");
    }
  }

  void write(std::size_t first, std::size_t n, std::size_t value_bytes, std::size_t batch) {
    std::string value(value_bytes, 'x');
    std::size_t i = 0;
    while (i < n) {
      MDB_txn* t = nullptr;
      check(mdb_txn_begin(env, nullptr, 0, &t), "txn_begin");
      auto end = std::min(n, i + std::max<std::size_t>(batch, 1));
      for (; i < end; ++i)
        put(t, value, first + i);
      check(mdb_txn_commit(t), "commit");
    }
  }
};

std::size_t map_for(std::size_t n, std::size_t value_bytes) {
  return std::max<std::size_t>(std::size_t{64} << 20, n * (value_bytes + 64) * 3);
}

} // namespace

// -- (c) raw LMDB ---------------------------------------------------------------------

double baseline_lmdb_write(const std::string& dir, std::size_t n, std::size_t value_bytes,
                           std::size_t batch, bool sync) {
  double rate = 0;
  {
    raw_env env{dir, map_for(n, value_bytes), sync};
    auto t0 = now_ns();
    env.write(0, n, value_bytes, batch);
    auto t1 = now_ns();
    rate = static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

double baseline_lmdb_two_puts(const std::string& dir, std::size_t jobs, std::size_t value_bytes,
                              std::size_t jobs_per_txn, bool sync) {
  jobs_per_txn = std::max<std::size_t>(jobs_per_txn, 1);
  double rate = 0;
  {
    raw_env env{dir, map_for(jobs, value_bytes), sync};
    std::string value(value_bytes, 'x');
    auto t0 = now_ns();
    // Transaction i inserts the submit records of batch i and overwrites the records
    // of batch i-1 with their completions: a job's two writes land in two commits,
    // as in jobrt, where a job completes after the commit that made its submit durable.
    std::size_t prev_first = 0, prev_end = 0;
    for (std::size_t first = 0; first < jobs || prev_first < prev_end;) {
      auto end = first < jobs ? first + std::min(jobs_per_txn, jobs - first) : first;
      MDB_txn* t = nullptr;
      check(mdb_txn_begin(env.env, nullptr, 0, &t), "txn_begin");
      for (auto i = first; i < end; ++i)
        env.put(t, value, i);
      for (auto i = prev_first; i < prev_end; ++i)
        env.put(t, value, i);
      check(mdb_txn_commit(t), "commit");
      prev_first = first;
      prev_end = end;
      first = end;
    }
    rate = static_cast<double>(jobs) / (static_cast<double>(now_ns() - t0) / 1e9);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

double baseline_lmdb_group_commit(const std::string& dir, std::size_t n, std::size_t value_bytes,
                                  std::size_t writers, bool sync) {
  writers = std::max<std::size_t>(writers, 1);
  struct pending {
    std::size_t key;
    bool* done;
  };
  std::mutex mtx;
  std::condition_variable work_cv, done_cv;
  std::vector<pending> queue;
  bool closing = false;
  std::string failure; ///< the first LMDB error; the writers stop once it is set
  double rate = 0;
  {
    raw_env env{dir, map_for(n, value_bytes), sync};
    std::string value(value_bytes, 'x');
    // The committer takes whatever is pending, writes it in one fsynced transaction
    // and wakes the writers of that batch; each writer has one put in flight.
    std::thread committer{[&] {
      std::vector<pending> batch;
      for (;;) {
        {
          std::unique_lock lock{mtx};
          work_cv.wait(lock, [&] { return closing || !queue.empty(); });
          if (queue.empty())
            return;
          batch.swap(queue);
        }
        std::string err;
        try {
          MDB_txn* t = nullptr;
          check(mdb_txn_begin(env.env, nullptr, 0, &t), "txn_begin");
          for (const auto& p : batch)
            env.put(t, value, p.key);
          check(mdb_txn_commit(t), "commit");
        } catch (const std::exception& e) {
          err = e.what();
        }
        {
          std::lock_guard lock{mtx};
          for (const auto& p : batch)
            *p.done = true;
          if (!err.empty() && failure.empty())
            failure = err;
        }
        done_cv.notify_all();
        batch.clear();
      }
    }};
    std::atomic<std::size_t> next{0};
    auto t0 = now_ns();
    std::vector<std::thread> ts;
    for (std::size_t w = 0; w < writers; ++w)
      ts.emplace_back([&] {
        for (auto i = next++; i < n; i = next++) {
          bool done = false;
          {
            std::lock_guard lock{mtx};
            queue.push_back({i, &done});
          }
          work_cv.notify_one();
          std::unique_lock lock{mtx};
          done_cv.wait(lock, [&] { return done; });
          if (!failure.empty())
            return;
        }
      });
    for (auto& th : ts)
      th.join();
    rate = static_cast<double>(n) / (static_cast<double>(now_ns() - t0) / 1e9);
    {
      std::lock_guard lock{mtx};
      closing = true;
    }
    work_cv.notify_one();
    committer.join();
  }
  std::filesystem::remove_all(dir);
  if (!failure.empty())
    throw std::runtime_error(failure);
  return rate;
}

double baseline_lmdb_scan(const std::string& dir, std::size_t n, std::size_t value_bytes) {
  double secs = 0;
  {
    raw_env env{dir, map_for(n, value_bytes), false};
    env.write(0, n, value_bytes, 10000);
    auto t0 = now_ns();
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env.env, nullptr, MDB_RDONLY, &t), "txn_begin");
    MDB_cursor* cur = nullptr;
    check(mdb_cursor_open(t, env.dbi, &cur), "cursor_open");
    MDB_val k, v;
    std::size_t count = 0, bytes = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      ++count;
      bytes += static_cast<const unsigned char*>(v.mv_data)[v.mv_size - 1];
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(t);
    auto t1 = now_ns();
    if (count != n)
      throw std::runtime_error("raw LMDB scan found " + std::to_string(count) + " records");
    asm volatile("" ::"r"(bytes));
    secs = static_cast<double>(t1 - t0) / 1e9;
  }
  std::filesystem::remove_all(dir);
  return secs;
}

latency baseline_lmdb_commit_latency(const std::string& dir, std::size_t samples,
                                     std::size_t value_bytes, bool sync) {
  return summarize(lmdb_commit_samples(dir, samples, value_bytes, sync));
}

std::vector<double> lmdb_commit_samples(const std::string& dir, std::size_t samples,
                                        std::size_t value_bytes, bool sync) {
  std::vector<double> us;
  {
    raw_env env{dir, map_for(samples, value_bytes), sync};
    us.reserve(samples);
    for (std::size_t i = 0; i < samples; ++i) {
      auto t0 = now_ns();
      env.write(i, 1, value_bytes, 1);
      us.push_back(static_cast<double>(now_ns() - t0) / 1e3);
    }
  }
  std::filesystem::remove_all(dir);
  return us;
}

double lmdb_avg_value_bytes(const std::string& dir, const char* db) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0)
    return 0;
  double avg = 0;
  mdb_env_set_maxdbs(env, 16);
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0644) == 0) {
    MDB_txn* t = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &t) == 0) {
      MDB_dbi dbi;
      MDB_cursor* cur = nullptr;
      if (mdb_dbi_open(t, db, 0, &dbi) == 0 && mdb_cursor_open(t, dbi, &cur) == 0) {
        MDB_val k, v;
        std::size_t count = 0, bytes = 0;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
          ++count;
          bytes += v.mv_size;
        }
        mdb_cursor_close(cur);
        if (count > 0)
          avg = static_cast<double>(bytes) / static_cast<double>(count);
      }
      mdb_txn_abort(t);
    }
  }
  mdb_env_close(env);
  return avg;
}

} // namespace bench
