#pragma once

/// What the host hands its jobs: actor handles, clients, connection pools, its
/// own configuration. One shared object per type, set in
/// `runtime_options::services` before `runtime::start`, and reached from a
/// step or a reply handler with `ctx.service<T>()`, so that a job needs no
/// global to talk to the rest of the service:
///
///   struct pricing { caf::actor actor; };               // the host's type
///   opts.services.add(std::make_shared<pricing>(pricing{pricing_actor}));
///   ...
///   void step(jobrt::context& ctx) override {
///     auto* p = ctx.service<pricing>();                 // nullptr if not provided
///     if (!p)
///       return ctx.fail("this service runs without a pricing actor");
///     ctx.self()->request(p->actor, 5s, quote_atom::value, params().sku) ...

#include <memory>
#include <typeindex>
#include <unordered_map>

namespace jobrt {

class services {
public:
  /// Provides `service` as the `T` of every job; replaces an earlier `T`.
  template <class T>
  services& add(std::shared_ptr<T> service) {
    by_type_[std::type_index(typeid(T))] = std::move(service);
    return *this;
  }

  /// The `T` provided, or nullptr.
  template <class T>
  T* find() const noexcept {
    auto i = by_type_.find(std::type_index(typeid(T)));
    return i == by_type_.end() ? nullptr : static_cast<T*>(i->second.get());
  }

private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> by_type_;
};

} // namespace jobrt
