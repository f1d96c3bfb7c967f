#define BOOST_TEST_MODULE example_jobs_tests
#include <boost/test/unit_test.hpp>
