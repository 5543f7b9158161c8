// MPI calls behind a small interface; without AIMCSIM_HAVE_MPI every entry point that would need
// the library reports that the build has none.
#include "sim/sweep/mpi.h"

#include <cstdlib>
#include <cstring>
#include <exception>

#include "proto/user_error.h"

#ifdef AIMCSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace aimc::sim::mpi {
namespace {

const Comm* g_world = nullptr;

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (*end == '\0' && n >= 0 && n < (1L << 30)) ? static_cast<int>(n) : -1;
}

#ifdef AIMCSIM_HAVE_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw std::runtime_error(std::string(what) + " failed: " + std::string(text, len));
  }
}
#endif

}  // namespace

bool built_with_mpi() {
#ifdef AIMCSIM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    const int n = env_int(name);
    if (n >= 0) return n;
  }
  if (std::getenv("PMIX_RANK") != nullptr || std::getenv("PMI_RANK") != nullptr) {
    const int n = env_int("SLURM_STEP_NUM_TASKS");
    return n >= 0 ? n : -1;
  }
  return 0;
}

void refuse_launcher(const std::string& command, const std::string& why) {
  const int n = launcher_size();
  if (n == 0 || n == 1) return;
  throw UserError("aimcsim " + command + " was started by an MPI launcher" +
                  (n > 1 ? " with " + std::to_string(n) + " processes" : std::string()) + ", but " +
                  why + "; run it without mpirun/srun, or with one process");
}

bool is_launcher_variable(const char* entry) {
  for (const char* prefix : {"OMPI_", "PMIX_", "PMI_",
                             "MPI_LOCALNRANKS=", "MPI_LOCALRANKID=", "HYDRA_", "OPAL_", "ORTE_"}) {
    if (std::strncmp(entry, prefix, std::strlen(prefix)) == 0) return true;
  }
  return false;
}

const Comm* world() {
  return g_world;
}

#ifdef AIMCSIM_HAVE_MPI

void Comm::send(int dest, int tag, const std::string& bytes) const {
  check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD),
        "MPI_Send");
}

bool Comm::probe(int* source, int* tag) const {
  int flag = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
  if (!flag) return false;
  *source = status.MPI_SOURCE;
  *tag = status.MPI_TAG;
  return true;
}

std::string Comm::recv(int source, int tag) const {
  MPI_Status status;
  check(MPI_Probe(source, tag, MPI_COMM_WORLD, &status), "MPI_Probe");
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  std::string bytes(static_cast<size_t>(count), '\0');
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
        "MPI_Recv");
  return bytes;
}

void Comm::broadcast(std::string* bytes) const {
  unsigned long long n = bytes->size();
  check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  bytes->resize(static_cast<size_t>(n));
  check(MPI_Bcast(bytes->data(), static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
}

void Comm::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

Session::Session(const std::string& command) {
  if (g_world != nullptr) throw std::logic_error("a second MPI session");
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  check(MPI_Comm_rank(MPI_COMM_WORLD, &comm_.rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &comm_.size_), "MPI_Comm_size");
  MPI_Comm local;
  check(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, comm_.rank_, MPI_INFO_NULL, &local),
      "MPI_Comm_split_type");
  check(MPI_Comm_size(local, &comm_.local_size_), "MPI_Comm_size");
  MPI_Comm_free(&local);
  (void)command;
  g_world = &comm_;
}

Session::~Session() {
  g_world = nullptr;
  MPI_Finalize();
}

#else  // no MPI in this build

void Comm::send(int, int, const std::string&) const {
  throw std::logic_error("MPI send in a build without MPI");
}
bool Comm::probe(int*, int*) const {
  return false;
}
std::string Comm::recv(int, int) const {
  throw std::logic_error("MPI recv in a build without MPI");
}
void Comm::broadcast(std::string*) const {}
void Comm::abort(int code) const {
  std::_Exit(code);
}

Session::Session(const std::string& command) {
  throw UserError("aimcsim " + command +
                  " was started by an MPI launcher, but this build has no MPI: install "
                  "libopenmpi-dev (scripts/setup does) and rebuild with -DAIMCSIM_WITH_MPI=ON, or "
                  "run it without mpirun/srun");
}

Session::~Session() = default;

#endif

MaybeSession::MaybeSession(const std::string& command) {
  const int n = launcher_size();
  if (n == 0 || n == 1) return;  // no launcher, or one process: plain run
  session_ = new Session(command);
  if (session_->comm().size() == 1) {
    delete session_;
    session_ = nullptr;
  }
}

MaybeSession::~MaybeSession() {
  // Leaving by an exception: keep MPI up so that the error handler can print the message and
  // stop the whole job (MPI_Abort); MPI_Finalize here would wait for ranks that still work.
  if (std::uncaught_exceptions() > 0) return;
  delete session_;
}

}  // namespace aimc::sim::mpi
