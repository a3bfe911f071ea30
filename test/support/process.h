#pragma once
// Real child processes for end-to-end tests: started with posix_spawn, output to files,
// stopped by their PID only, never left running after a test.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace meshgate::test {

using namespace std::chrono_literals;

/// Polls `condition` until it holds or `timeout` passes. The way tests wait: never a
/// fixed sleep, always a condition with a deadline.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = 10s);

/// A temporary directory, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

class child_process {
 public:
  /// Starts `argv[0]` (looked up in PATH if it has no slash). stdout and stderr go to
  /// `<log_prefix>.out` and `<log_prefix>.err`; stdin is /dev/null unless `stdin_file`.
  child_process(std::vector<std::string> argv, std::filesystem::path log_prefix,
                std::optional<std::filesystem::path> stdin_file = std::nullopt);
  /// Kills (SIGKILL) and reaps the child if it still runs.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void signal(int sig) const;
  /// The exit status (as from waitpid) once it has exited, or nullopt after `timeout`.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
  bool running();
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_prefix_;
};

/// Runs a command to completion (bounded by `timeout`), returning its exit code, or -1 if
/// it had to be killed. Output goes to `<log_prefix>.out/.err`.
int run_command(std::vector<std::string> argv, const std::filesystem::path& log_prefix,
                std::chrono::milliseconds timeout = 30s);

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace meshgate::test
