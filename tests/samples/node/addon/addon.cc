// A native addon through Node-API: add(a, b) computed in C++.
#include <node_api.h>

static napi_value Add(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  double a = 0, b = 0;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  napi_get_value_double(env, args[0], &a);
  napi_get_value_double(env, args[1], &b);
  napi_value result;
  napi_create_double(env, a + b, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value add;
  napi_create_function(env, "add", NAPI_AUTO_LENGTH, Add, nullptr, &add);
  napi_set_named_property(env, exports, "add", add);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
