// Clang thread-safety annotations (clang.llvm.org/docs/ThreadSafetyAnalysis.html). With clang and
// -Wthread-safety (on in every clang build of this project, an error with LAPOR_WERROR) the
// compiler proves that a field marked LAPOR_GUARDED_BY(mu_) is only touched with mu_ held, and
// that a function marked LAPOR_REQUIRES(mu_) is only called with it held. Other compilers ignore
// them. Use them with lapor::Mutex (base/mutex.h): std::mutex carries no annotations.
#pragma once

#if defined(__clang__)
#define LAPOR_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LAPOR_THREAD_ANNOTATION(x)
#endif

#define LAPOR_CAPABILITY(x) LAPOR_THREAD_ANNOTATION(capability(x))
#define LAPOR_SCOPED_CAPABILITY LAPOR_THREAD_ANNOTATION(scoped_lockable)
#define LAPOR_GUARDED_BY(x) LAPOR_THREAD_ANNOTATION(guarded_by(x))
#define LAPOR_PT_GUARDED_BY(x) LAPOR_THREAD_ANNOTATION(pt_guarded_by(x))
#define LAPOR_REQUIRES(...) LAPOR_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LAPOR_EXCLUDES(...) LAPOR_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define LAPOR_ACQUIRE(...) LAPOR_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define LAPOR_RELEASE(...) LAPOR_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define LAPOR_TRY_ACQUIRE(...) LAPOR_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define LAPOR_ASSERT_CAPABILITY(x) LAPOR_THREAD_ANNOTATION(assert_capability(x))
#define LAPOR_RETURN_CAPABILITY(x) LAPOR_THREAD_ANNOTATION(lock_returned(x))
#define LAPOR_NO_THREAD_SAFETY_ANALYSIS LAPOR_THREAD_ANNOTATION(no_thread_safety_analysis)
