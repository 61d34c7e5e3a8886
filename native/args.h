// Argument checks shared by the exported functions.
//
// C++ exceptions are off (NAPI_DISABLE_CPP_EXCEPTIONS), so each check throws a pending JS
// exception and returns false; the caller returns at once. Misuse throws TypeError (wrong
// type, non-integer) or RangeError (an integer outside the range the argument allows); a
// number is never wrapped or truncated silently. A missing argument is undefined and gets
// the same message as a wrong one, naming it.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sockbridge {

// How a bad value is shown in a message: numbers as written in JS, other values by type.
inline std::string Describe(const Napi::Value& v) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  if (v.IsString()) return "the string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsTypedArray()) return "a typed array of another element type";
  if (v.IsArray()) return "an Array";
  if (v.IsFunction()) return "a function";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

inline std::string Arg(const char* fn, const char* name) {
  return std::string(fn) + ": argument \"" + name + "\"";
}

inline bool ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

inline bool ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// An integral JS number in [lo, hi] (both within +-2^53). `what` names the valid range.
inline bool GetInteger(Napi::Env env, const Napi::Value& v, const char* fn, const char* name,
                       double lo, double hi, const char* what, double* out) {
  if (!v.IsNumber()) {
    return ThrowType(env, Arg(fn, name) + " must be an integer number, got " + Describe(v));
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d) {
    return ThrowType(env, Arg(fn, name) + " must be an integer, got " + Describe(v));
  }
  if (d < lo || d > hi) {
    return ThrowRange(env, Arg(fn, name) + " must be " + what + ", got " + Describe(v));
  }
  *out = d;
  return true;
}

inline bool GetInt32(Napi::Env env, const Napi::Value& v, const char* fn, const char* name,
                     int32_t* out) {
  double d;
  if (!GetInteger(env, v, fn, name, INT32_MIN, INT32_MAX,
                  "an int32 (-2147483648..2147483647)", &d)) {
    return false;
  }
  *out = static_cast<int32_t>(d);
  return true;
}

inline bool GetInt32Array(Napi::Env env, const Napi::Value& v, const char* fn, const char* name,
                          Napi::Int32Array* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    return ThrowType(env, Arg(fn, name) + " must be an Int32Array, got " + Describe(v));
  }
  *out = v.As<Napi::Int32Array>();
  return true;
}

}  // namespace sockbridge
