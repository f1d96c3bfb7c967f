#include <cstdio>
#include <string>

#include <boost/asio.hpp>
#include <jobrt/asio.hpp>                                  // jobrt::on_executor
#include <jobrt/jobrt.hpp>

struct resize_params { std::string image; };
BOOST_DESCRIBE_STRUCT(resize_params, (), (image))

struct resize_job : jobrt::job<resize_params> {
  static constexpr const char* name = "image.resize";
  static constexpr const char* description = "Resizes one image";
  void step(jobrt::context& ctx) override { ctx.complete({{"image", params().image}}); }
};
JOBRT_REGISTER_JOB(resize_job);

using strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// A request handler on an event loop: it submits and returns at once; the answer
// comes back on the connection's strand once the job is durable. No thread waits.
void on_upload(jobrt::runtime& rt, const strand& conn, std::string image) {
  rt.submit_async("image.resize", {{"image", image}}, {},
                  jobrt::on_executor(conn, [image](jobrt::result<jobrt::submitted> r) {
                    if (r)                                 // on the strand again
                      std::printf("%s: job %llu is %s\n", image.c_str(),
                                  static_cast<unsigned long long>(r->id),
                                  jobrt::to_string(r->status));
                    else
                      std::printf("%s: %s\n", image.c_str(), r.error().message.c_str());
                  }));
}

int main() {
  jobrt::runtime_options opts;
  opts.data_dir = "jobrt-async-data";
  auto rt = jobrt::runtime::start(opts);
  if (!rt) return std::fprintf(stderr, "%s\n", rt.error().message.c_str()), 1;
  boost::asio::io_context io;
  auto conn = boost::asio::make_strand(io);
  for (const char* image : {"cat.png", "dog.png", "owl.png"})    // three requests arrive
    boost::asio::post(conn, [&, image] { on_upload(**rt, conn, image); });
  io.run();                       // returns once every call in flight has been answered
  auto page = (*rt)->list_async().get();                   // the future form
  if (page) std::printf("%zu jobs stored\n", page->jobs.size());
}
