#include <boost/test/unit_test.hpp>

#include <set>

#include "bank_categorize.hpp"
#include "countdown.hpp"
#include "csv.hpp"
#include "file_copy.hpp"
#include "sample_data.hpp"
#include "test_support.hpp"

using namespace jobrt_examples;

BOOST_AUTO_TEST_CASE(csv_splits_quoted_fields_with_commas_and_quotes) {
  auto f = split_csv_record(R"(2024-01-02,"Joe's ""Famous"" Pizza, Brooklyn","1,234.50")");
  BOOST_REQUIRE(f.has_value());
  BOOST_REQUIRE_EQUAL(f->size(), 3u);
  BOOST_TEST((*f)[0] == "2024-01-02");
  BOOST_TEST((*f)[1] == R"(Joe's "Famous" Pizza, Brooklyn)");
  BOOST_TEST((*f)[2] == "1,234.50");
  auto g = split_csv_record("a,,c,");
  BOOST_REQUIRE(g.has_value());
  BOOST_TEST(g->size() == 4u);
  auto multi = split_csv_record("x,\"two\nlines\",3");
  BOOST_REQUIRE(multi.has_value());
  BOOST_TEST((*multi)[1] == "two\nlines");
}

BOOST_AUTO_TEST_CASE(csv_refuses_an_unterminated_quote) {
  BOOST_TEST(!split_csv_record("2024-01-02,\"open,1.00").has_value());
  BOOST_TEST(!split_csv_record("2024-01-02,\"closed\"junk,1.00").has_value());
  BOOST_TEST(csv_record_open("a,\"b"));
  BOOST_TEST(!csv_record_open("a,\"b\"\"c\""));
}

BOOST_AUTO_TEST_CASE(amounts_parse_into_integer_cents) {
  BOOST_TEST(parse_amount_cents("-12.34").value() == -1234);
  BOOST_TEST(parse_amount_cents("+5").value() == 500);
  BOOST_TEST(parse_amount_cents(" 7.5 ").value() == 750);
  BOOST_TEST(parse_amount_cents("1,234.56").value() == 123456);
  BOOST_TEST(parse_amount_cents("$0.99").value() == 99);
  BOOST_TEST(parse_amount_cents(".5").value() == 50);
  for (const char* bad : {"", "-", "abc", "1.234", "1,23.00", "12a", "1.2.3", ",100", "."})
    BOOST_TEST(!parse_amount_cents(bad).has_value(), "'" << bad << "' should not parse");
  BOOST_TEST(format_cents(-1234) == "-12.34");
  BOOST_TEST(format_cents(5) == "0.05");
}

BOOST_AUTO_TEST_CASE(example_jobs_are_registered_by_linking_the_object_library) {
  std::set<std::string> names;
  for (const auto& t : jobrt::registry::global().list())
    names.insert(t.name);
  BOOST_TEST(names.count("bank_categorize") == 1u);
  BOOST_TEST(names.count("bank_statement") == 1u);
  BOOST_TEST(names.count("file_copy") == 1u);
  BOOST_TEST(names.count("countdown") == 1u);
  auto bc = jobrt::registry::global().find("bank_categorize");
  BOOST_REQUIRE(bc.has_value());
  BOOST_TEST(bc->options.blocking);
}

BOOST_AUTO_TEST_CASE(default_rules_file_every_sample_merchant_under_its_category) {
  test_support::temp_dir tmp;
  auto rows = write_sample_transactions(tmp / "t.csv", 2000, 7);
  for (const auto& r : rows)
    BOOST_TEST(categorize(default_rules(), r.description) == r.category,
               "'" << r.description << "'");
}
