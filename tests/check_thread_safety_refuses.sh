#!/usr/bin/env bash
# Clang's thread-safety analysis, as the project's clang builds run it (-Wthread-safety with
# -Werror), accepts a field marked LAPOR_GUARDED_BY touched under its lapor::MutexLock and refuses
# the same field touched without it, or a LAPOR_REQUIRES function called without the lock.
#   bash tests/check_thread_safety_refuses.sh [CLANG++]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CXX=${1:-clang++}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
compile() { "$CXX" -std=c++17 -fsyntax-only -Wthread-safety -Werror -I"$ROOT" -x c++ "$1" 2>&1; }

cat >"$TMP/ok.cc" <<'CC'
#include "base/mutex.h"
class Counter {
 public:
  void Add() { lapor::MutexLock lock(mu_); AddLocked(); }
  int Get() { lapor::MutexLock lock(mu_); return n_; }
  void WaitPositive() {
    lapor::MutexLock lock(mu_);
    cv_.Wait(lock, [&]() LAPOR_REQUIRES(mu_) { return n_ > 0; });
  }
 private:
  void AddLocked() LAPOR_REQUIRES(mu_) { ++n_; cv_.NotifyAll(); }
  lapor::Mutex mu_;
  lapor::CondVar cv_;
  int n_ LAPOR_GUARDED_BY(mu_) = 0;
};
int main() { Counter c; c.Add(); c.WaitPositive(); return c.Get() == 1 ? 0 : 1; }
CC
compile "$TMP/ok.cc" >"$TMP/ok.out" || { echo "FAIL: the correct use was refused:"; cat "$TMP/ok.out"; exit 1; }

sed 's/int Get() { lapor::MutexLock lock(mu_); return n_; }/int Get() { return n_; }/' "$TMP/ok.cc" >"$TMP/unlocked_read.cc"
if out=$(compile "$TMP/unlocked_read.cc"); then echo "FAIL: an unlocked read was accepted"; exit 1; fi
grep -q "reading variable 'n_' requires holding mutex 'mu_'" <<<"$out" || { echo "FAIL: not named: $out"; exit 1; }

sed 's/void Add() { lapor::MutexLock lock(mu_); AddLocked(); }/void Add() { AddLocked(); }/' "$TMP/ok.cc" >"$TMP/unlocked_call.cc"
if out=$(compile "$TMP/unlocked_call.cc"); then echo "FAIL: an unlocked call was accepted"; exit 1; fi
grep -q "calling function 'AddLocked' requires holding mutex 'mu_'" <<<"$out" || { echo "FAIL: not named: $out"; exit 1; }
echo "PASS: the thread-safety analysis accepts locked access and refuses unlocked access"
