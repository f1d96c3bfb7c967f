// Must not compile: a job whose parameters (or, with JOBRT_UNDESCRIBED_STATE,
// whose state) lack BOOST_DESCRIBE_STRUCT. CTest builds it and checks that the
// first error is jobrt's, saying what to add, not one from inside Boost.Describe.
#include <jobrt/jobrt.hpp>

struct described { std::int64_t n = 0; };
BOOST_DESCRIBE_STRUCT(described, (), (n))
struct undescribed { std::int64_t n = 0; };   // BOOST_DESCRIBE_STRUCT forgotten

#ifdef JOBRT_UNDESCRIBED_STATE
struct forgetful_job : jobrt::job<described, undescribed> {
#else
struct forgetful_job : jobrt::job<undescribed, described> {
#endif
  static constexpr const char* name = "forgetful";
  static constexpr const char* description = "Never compiles";
  void step(jobrt::context& ctx) override { ctx.complete(); }
};
JOBRT_REGISTER_JOB(forgetful_job);
