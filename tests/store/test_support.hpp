// Helpers for the store tests: temporary directories, and running a check in
// a child process with its own mount namespace, where the test can mount a
// small or read-only tmpfs, or as an unprivileged user. Running as root bypasses permission bits, so a
// real read-only or full file system is the only way to get EROFS or ENOSPC.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace starling::store::test {

class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "starling-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Exit code of the child when the sandbox does not allow mount namespaces.
inline constexpr int isolation_unavailable = 77;

/// Counts failed expectations inside the child, where Boost.Test macros
/// would be lost; each failure is printed to stderr.
struct child_checks {
  int failures = 0;
  void expect(bool condition, const std::string& what) {
    if (!condition) {
      ++failures;
      std::fprintf(stderr, "child check failed: %s\n", what.c_str());
    }
  }
};

/// Forks; the child enters a new mount namespace, mounts a tmpfs of
/// `tmpfs_size` (e.g. "4m") on `mount_point` and runs `body`. Returns the
/// child's exit code: 0 when all checks passed, isolation_unavailable when
/// unshare or mount failed, else the number of failed checks. The caller must
/// not have other threads running.
inline int run_with_tmpfs(const std::filesystem::path& mount_point, const std::string& tmpfs_size,
                          const std::function<void(child_checks&)>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    return isolation_unavailable;
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, ("size=" + tmpfs_size).c_str()) != 0) {
      std::fprintf(stderr, "mount namespace unavailable: %s\n", std::strerror(errno));
      ::_exit(isolation_unavailable);
    }
    child_checks checks;
    body(checks);
    std::fflush(nullptr);
    ::_exit(checks.failures > 60 ? 60 : checks.failures);
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (WIFEXITED(wstatus))
    return WEXITSTATUS(wstatus);
  return 100;  // Killed by a signal.
}

/// Forks; the child drops to uid/gid 65534 (nobody) and runs `body`.
/// Returns like run_with_tmpfs.
inline int run_as_nobody(const std::function<void(child_checks&)>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    return isolation_unavailable;
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(isolation_unavailable);
    child_checks checks;
    body(checks);
    std::fflush(nullptr);
    ::_exit(checks.failures > 60 ? 60 : checks.failures);
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 100;
}

/// Remounts the tmpfs of the current namespace read-only; for use inside
/// run_with_tmpfs.
inline bool remount_read_only(const std::filesystem::path& mount_point) {
  return ::mount("tmpfs", mount_point.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
}

} // namespace starling::store::test
