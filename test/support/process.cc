#include "support/process.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meshgate::test {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = 1ms;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "meshgate-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

child_process::child_process(std::vector<std::string> argv, std::filesystem::path log_prefix,
                             std::optional<std::filesystem::path> stdin_file)
    : log_prefix_(std::move(log_prefix)) {
  const auto out = log_prefix_.string() + ".out";
  const auto err = log_prefix_.string() + ".err";
  const auto in = stdin_file ? stdin_file->string() : std::string("/dev/null");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    // In the child: only async-signal-safe calls until exec. The child dies with the test
    // process, even when that one is killed, so a failed run leaves nothing behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    const int in_fd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(10s);
  }
  // Under the sanitize build our own binaries run instrumented: a report from a child fails
  // the test that started it, even when the test's assertions all held.
  const auto log = err();
  for (const char* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    if (log.find(report) != std::string::npos) {
      ADD_FAILURE() << "a child process reported \"" << report << "\" (" << log_prefix_.string() << ".err):\n"
                    << log.substr(log.find(report) > 2000 ? log.find(report) - 2000 : 0, 6000);
      break;
    }
  }
}

void child_process::signal(int sig) const {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_for_exit(std::chrono::milliseconds timeout) {
  eventually(
      [&] {
        if (status_) return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
        return status_.has_value();
      },
      timeout);
  return status_;
}

bool child_process::running() { return !wait_for_exit(0ms).has_value(); }

std::string child_process::out() const { return read_text(log_prefix_.string() + ".out"); }
std::string child_process::err() const { return read_text(log_prefix_.string() + ".err"); }

int run_command(std::vector<std::string> argv, const std::filesystem::path& log_prefix,
                std::chrono::milliseconds timeout) {
  child_process child(std::move(argv), log_prefix);
  const auto status = child.wait_for_exit(timeout);
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace meshgate::test
