// The CPU side of the CUDA emulator declared in cuda_emu.h: a scheduler that
// runs every CUDA thread of a block as a fiber, the barriers and warp shuffles
// that switch between those fibers, and the runtime calls host code makes.
//
// A block runs on one OS thread, in sweeps: the scheduler resumes the first
// runnable thread, and each thread that exits or waits at a barrier hands
// over to the next runnable thread after it, the last one back to the
// scheduler. The last thread to reach a barrier releases the others and
// carries on. Sweeps repeat until every thread has exited; a sweep with no
// runnable thread is a deadlock.

// System headers first: cuda_emu.h redefines names such as __shared__.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#ifndef FASTNN_CUDA_EMU
#define FASTNN_CUDA_EMU
#endif
#include "cuda_emu.h"

#if FASTNN_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64 only"
#endif

// fastnn_emu_swap_stacks(save, load) pushes the callee-saved registers,
// stores the stack pointer in *save, loads `load` as the stack pointer and
// pops the registers saved there, returning into the other fiber. The
// compiler already treats caller-saved registers as clobbered by the call.
// MXCSR and the x87 control word stay shared: kernels never change rounding.
asm(R"(
    .pushsection .text
    .p2align 4
    .globl fastnn_emu_swap_stacks
    .hidden fastnn_emu_swap_stacks
    .type fastnn_emu_swap_stacks, @function
fastnn_emu_swap_stacks:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size fastnn_emu_swap_stacks, .-fastnn_emu_swap_stacks
    .popsection
)");
extern "C" void fastnn_emu_swap_stacks(void** save_stack_pointer, void* load_stack_pointer);

namespace fastnn {
namespace emu {
namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kWarpSize = 32;
constexpr unsigned kFullWarpMask = 0xffffffffu;
constexpr std::size_t kDefaultDynamicSharedLimit = 48 * 1024;
constexpr std::size_t kMaxDynamicSharedOptIn = 227 * 1024;  // what sm_90 allows

[[noreturn]] __attribute__((format(printf, 1, 2))) void fail(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::fputs("fastnn CUDA emulator: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::abort();
}

std::size_t positive_env(const char* name, std::size_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long value = std::strtoul(text, &end, 10);
  if (*end != '\0' || value == 0) fail("%s=%s is not a positive integer", name, text);
  return value;
}

std::size_t fiber_stack_bytes() {
  // ASan's redzones make every frame several times larger.
  static const std::size_t bytes = positive_env("FASTNN_EMU_STACK_KB", FASTNN_EMU_ASAN ? 256 : 64) * 1024;
  return bytes;
}

#ifdef _OPENMP
// One unless asked: blocks are cheap to run in turn, and OpenMP threads that
// spin between launches slow everything down on a busy machine.
int os_threads_for_blocks() {
  static const int threads = static_cast<int>(positive_env("FASTNN_EMU_THREADS", 1));
  return threads;
}
#endif

// ASan has to be told about every switch between stacks, or it takes the
// fibers' frames for stack overflows and reports false errors.
void start_switch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const void* target_bottom,
                  [[maybe_unused]] std::size_t target_size) {
#if FASTNN_EMU_ASAN
  __sanitizer_start_switch_fiber(fake_stack, target_bottom, target_size);
#endif
}

void finish_switch([[maybe_unused]] void* fake_stack) {
#if FASTNN_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
}

// A fiber's stack: an anonymous mapping whose lowest page is inaccessible, so
// a fiber that overflows faults instead of overwriting another fiber's stack.
class FiberStack {
 public:
  explicit FiberStack(std::size_t bytes)
      : guard_bytes_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))),
        usable_bytes_((bytes + guard_bytes_ - 1) / guard_bytes_ * guard_bytes_) {
    mapping_ = mmap(nullptr, guard_bytes_ + usable_bytes_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping_ == MAP_FAILED) fail("cannot map a %zu-byte fiber stack", usable_bytes_);
    if (mprotect(mapping_, guard_bytes_, PROT_NONE) != 0) fail("cannot protect a fiber stack's guard page");
  }
  ~FiberStack() {
#if FASTNN_EMU_ASAN
    // Frames left on a parked fiber keep their redzones poisoned; a later
    // mapping at this address must not inherit them.
    ASAN_UNPOISON_MEMORY_REGION(bottom(), usable_bytes_);
#endif
    munmap(mapping_, guard_bytes_ + usable_bytes_);
  }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;

  unsigned char* bottom() const { return static_cast<unsigned char*>(mapping_) + guard_bytes_; }
  std::size_t size() const { return usable_bytes_; }

 private:
  std::size_t guard_bytes_;
  std::size_t usable_bytes_;
  void* mapping_;
};

enum class FiberState : unsigned char { kRunnable, kAtBlockBarrier, kAtWarpBarrier, kExited };

// One CUDA thread of the block: fiber i always runs thread i of a block.
struct Fiber {
  explicit Fiber(std::size_t stack_bytes) : stack(stack_bytes) {}
  FiberStack stack;
  void* saved_stack_pointer = nullptr;  // where fastnn_emu_swap_stacks resumes it
  uint3 thread_idx{};
  FiberState state = FiberState::kExited;
  unsigned exchange_parity = 0;  // which of its warp's exchange buffers the next shuffle uses
};

struct Warp {
  unsigned lanes = 0;    // 32, except in a partial last warp
  unsigned arrived = 0;  // lanes waiting at the warp barrier
  // Shuffles alternate between two buffers. A lane writes the buffer again
  // two shuffles later, after every lane has reached the shuffle in between
  // and so has read this one's values.
  std::uint64_t exchange[2][kWarpSize];
};

// Runs blocks on one OS thread. Its fibers are created on first need and
// reused by every later block, so a launch allocates nothing in the steady
// state.
class Worker {
 public:
  void run_block(const KernelLaunch& launch, unsigned long long block_linear_index);
  void sync_threads();
  void sync_warp(unsigned mask);
  std::uint64_t shuffle(unsigned mask, std::uint64_t value_bits, ShuffleKind kind, int lane_or_delta, int width);

 private:
  [[noreturn]] static void fiber_main();
  void add_fiber();
  void prepare_threads(dim3 block);
  unsigned char* dynamic_shared_memory(std::size_t bytes);
  void start_sweep(unsigned thread);
  void switch_away(Fiber& self);
  void wait_for_warp(unsigned warp_index);
  Warp& warp_of_running_thread(unsigned mask, const char* operation);
  [[noreturn]] void report_deadlock() const;

  std::deque<Fiber> fibers_;  // a deque, so that adding fibers never moves one
  dim3 indexed_block_{0, 0, 0};  // the block shape fibers' thread_idx is set for
  std::array<Warp, kMaxThreadsPerBlock / kWarpSize> warps_{};
  const KernelLaunch* launch_ = nullptr;
  unsigned threads_ = 0;
  unsigned running_thread_ = 0;
  unsigned arrived_at_block_barrier_ = 0;
  unsigned exited_ = 0;
  void* scheduler_stack_pointer_ = nullptr;
  const void* scheduler_stack_bottom_ = nullptr;  // for ASan's switch annotations, set by the first fiber
  std::size_t scheduler_stack_size_ = 0;
  std::unique_ptr<unsigned char[]> dynamic_shared_;
  std::size_t dynamic_shared_bytes_ = 0;
};

thread_local Worker* running_worker = nullptr;  // set while this OS thread runs a block
thread_local cudaError_t last_error = cudaSuccess;

Worker& this_thread_worker() {
  static thread_local Worker worker;
  return worker;
}

Worker& running_worker_or_fail(const char* operation) {
  if (running_worker == nullptr) fail("%s called outside a kernel", operation);
  return *running_worker;
}

void Worker::add_fiber() {
  Fiber& fiber = fibers_.emplace_back(fiber_stack_bytes());
  // The first switch to the fiber pops six zeroed registers and "returns"
  // into fiber_main, whose own return address is null. rbp = 0 ends
  // frame-pointer unwinding there. The stack top is page aligned, so
  // fiber_main starts with the stack aligned as right after a call.
  void** frame = reinterpret_cast<void**>(fiber.stack.bottom() + fiber.stack.size()) - 8;
  std::fill(frame, frame + 8, nullptr);
  frame[6] = reinterpret_cast<void*>(&Worker::fiber_main);
  fiber.saved_stack_pointer = frame;
}

void Worker::fiber_main() {
  Worker& worker = *running_worker;  // fibers never leave the worker that made them
#if FASTNN_EMU_ASAN
  // A worker's first fiber starts from the scheduler; later ones may start
  // from another fiber.
  const void* from_bottom = nullptr;
  std::size_t from_size = 0;
  __sanitizer_finish_switch_fiber(nullptr, &from_bottom, &from_size);
  if (worker.scheduler_stack_bottom_ == nullptr) {
    worker.scheduler_stack_bottom_ = from_bottom;
    worker.scheduler_stack_size_ = from_size;
  }
#endif
  for (;;) {  // one iteration per block: the fiber parks between blocks
    worker.launch_->run_thread(worker.launch_->kernel_call);
    Fiber& self = worker.fibers_[worker.running_thread_];
    self.state = FiberState::kExited;
    ++worker.exited_;
    worker.switch_away(self);
  }
}

void Worker::prepare_threads(dim3 block) {
  threads_ = block.x * block.y * block.z;
  while (fibers_.size() < threads_) add_fiber();
  if (block.x != indexed_block_.x || block.y != indexed_block_.y || block.z != indexed_block_.z) {
    for (unsigned i = 0; i < threads_; ++i)
      fibers_[i].thread_idx = {i % block.x, i / block.x % block.y, i / (block.x * block.y)};
    indexed_block_ = block;
  }
  for (unsigned i = 0; i < threads_; ++i) {
    fibers_[i].state = FiberState::kRunnable;
    fibers_[i].exchange_parity = 0;
  }
  for (unsigned w = 0; w * kWarpSize < threads_; ++w) {
    warps_[w].lanes = std::min(kWarpSize, threads_ - w * kWarpSize);
    warps_[w].arrived = 0;
  }
  arrived_at_block_barrier_ = 0;
  exited_ = 0;
}

unsigned char* Worker::dynamic_shared_memory(std::size_t bytes) {
  // Exactly the launch's size, so ASan reports an access past its end;
  // reused while launches keep asking for the same size.
  if (dynamic_shared_ == nullptr || dynamic_shared_bytes_ != bytes) {
    dynamic_shared_ = std::make_unique<unsigned char[]>(bytes);
    dynamic_shared_bytes_ = bytes;
  }
  return dynamic_shared_.get();
}

void Worker::run_block(const KernelLaunch& launch, unsigned long long block_linear_index) {
  const dim3 grid = launch.grid;
  launch_ = &launch;
  prepare_threads(launch.block);
  current.block_idx = {static_cast<unsigned>(block_linear_index % grid.x),
                       static_cast<unsigned>(block_linear_index / grid.x % grid.y),
                       static_cast<unsigned>(block_linear_index / (1ull * grid.x * grid.y))};
  current.block_dim = launch.block;
  current.grid_dim = grid;
  current.dynamic_shared = dynamic_shared_memory(launch.shared_bytes);
  running_worker = this;
  while (exited_ < threads_) {
    unsigned first = 0;
    while (first < threads_ && fibers_[first].state != FiberState::kRunnable) ++first;
    if (first == threads_) report_deadlock();
    start_sweep(first);
  }
  running_worker = nullptr;
}

void Worker::start_sweep(unsigned thread) {
  Fiber& fiber = fibers_[thread];
  running_thread_ = thread;
  current.thread_idx = fiber.thread_idx;
  void* fake_stack = nullptr;
  start_switch(&fake_stack, fiber.stack.bottom(), fiber.stack.size());
  fastnn_emu_swap_stacks(&scheduler_stack_pointer_, fiber.saved_stack_pointer);
  finish_switch(fake_stack);
}

// Switching straight to the next fiber, rather than through the scheduler,
// halves the switches, and since consecutive fibers are usually parked at
// the same call site, the CPU predicts the returns after the switch.
void Worker::switch_away(Fiber& self) {
  unsigned next = running_thread_ + 1;
  while (next < threads_ && fibers_[next].state != FiberState::kRunnable) ++next;
  void* fake_stack = nullptr;
  if (next == threads_) {
    start_switch(&fake_stack, scheduler_stack_bottom_, scheduler_stack_size_);
    fastnn_emu_swap_stacks(&self.saved_stack_pointer, scheduler_stack_pointer_);
  } else {
    Fiber& fiber = fibers_[next];
    running_thread_ = next;
    current.thread_idx = fiber.thread_idx;
    start_switch(&fake_stack, fiber.stack.bottom(), fiber.stack.size());
    fastnn_emu_swap_stacks(&self.saved_stack_pointer, fiber.saved_stack_pointer);
  }
  finish_switch(fake_stack);
}

void Worker::sync_threads() {
  if (++arrived_at_block_barrier_ == threads_) {
    arrived_at_block_barrier_ = 0;
    for (unsigned i = 0; i < threads_; ++i) fibers_[i].state = FiberState::kRunnable;
    return;
  }
  Fiber& self = fibers_[running_thread_];
  self.state = FiberState::kAtBlockBarrier;
  switch_away(self);
}

void Worker::wait_for_warp(unsigned warp_index) {
  Warp& warp = warps_[warp_index];
  if (++warp.arrived == warp.lanes) {
    warp.arrived = 0;
    const unsigned first = warp_index * kWarpSize;
    for (unsigned i = first; i < first + warp.lanes; ++i) fibers_[i].state = FiberState::kRunnable;
    return;
  }
  Fiber& self = fibers_[running_thread_];
  self.state = FiberState::kAtWarpBarrier;
  switch_away(self);
}

Warp& Worker::warp_of_running_thread(unsigned mask, const char* operation) {
  Warp& warp = warps_[running_thread_ / kWarpSize];
  const unsigned existing_lanes = warp.lanes == kWarpSize ? kFullWarpMask : (1u << warp.lanes) - 1;
  if (mask != kFullWarpMask && mask != existing_lanes)
    fail("%s with mask 0x%08x: only whole-warp masks are emulated", operation, mask);
  return warp;
}

void Worker::sync_warp(unsigned mask) {
  warp_of_running_thread(mask, "__syncwarp");
  wait_for_warp(running_thread_ / kWarpSize);
}

// The source lane as PTX shfl.sync defines it: the warp splits into segments
// of `width` lanes, and a lane whose source is out of range keeps its value.
unsigned shuffle_source_lane(ShuffleKind kind, unsigned lane, int lane_or_delta, int width) {
  const unsigned operand = static_cast<unsigned>(lane_or_delta) & (kWarpSize - 1);
  const unsigned segment_bits = kWarpSize - static_cast<unsigned>(width);  // lane bits naming the segment
  const unsigned segment_first = lane & segment_bits;
  const unsigned segment_last = segment_first | (~segment_bits & (kWarpSize - 1));
  switch (kind) {
    case ShuffleKind::Index:
      return segment_first | (operand & ~segment_bits & (kWarpSize - 1));
    case ShuffleKind::Up:
      return lane >= segment_first + operand ? lane - operand : lane;
    case ShuffleKind::Down:
      return lane + operand <= segment_last ? lane + operand : lane;
    case ShuffleKind::Xor:
      return (lane ^ operand) <= segment_last ? lane ^ operand : lane;
  }
  return lane;
}

std::uint64_t Worker::shuffle(unsigned mask, std::uint64_t value_bits, ShuffleKind kind, int lane_or_delta,
                              int width) {
  Warp& warp = warp_of_running_thread(mask, "__shfl_*_sync");
  if (width < 1 || width > static_cast<int>(kWarpSize) || (width & (width - 1)) != 0)
    fail("__shfl_*_sync width %d is not a power of two in [1, 32]", width);
  const unsigned lane = running_thread_ % kWarpSize;
  Fiber& self = fibers_[running_thread_];
  std::uint64_t* exchange = warp.exchange[self.exchange_parity];
  self.exchange_parity ^= 1;
  exchange[lane] = value_bits;
  wait_for_warp(running_thread_ / kWarpSize);
  // Lanes missing from a partial warp hold nothing; a GPU returns garbage.
  const unsigned source = shuffle_source_lane(kind, lane, lane_or_delta, width);
  return source < warp.lanes ? exchange[source] : value_bits;
}

void Worker::report_deadlock() const {
  unsigned at_block_barrier = 0, at_warp_barrier = 0, exited = 0;
  for (unsigned i = 0; i < threads_; ++i) {
    const FiberState state = fibers_[i].state;
    at_block_barrier += state == FiberState::kAtBlockBarrier;
    at_warp_barrier += state == FiberState::kAtWarpBarrier;
    exited += state == FiberState::kExited;
  }
  fail("deadlock in block (%u, %u, %u): of its %u threads, %u wait at __syncthreads(), %u wait at a warp "
       "operation (__syncwarp, __shfl_*_sync) and %u have exited. Every thread of a block must reach each "
       "__syncthreads(), and every lane of a warp each warp operation; on a GPU this hangs or is undefined.",
       current.block_idx.x, current.block_idx.y, current.block_idx.z, threads_, at_block_barrier,
       at_warp_barrier, exited);
}

// Dynamic shared memory limits raised by cudaFuncSetAttribute, per kernel.
struct SharedLimits {
  std::mutex mutex;
  std::unordered_map<const void*, std::size_t> bytes_by_kernel;
};

SharedLimits& shared_limits() {
  static SharedLimits limits;
  return limits;
}

std::size_t dynamic_shared_limit(const void* kernel) {
  SharedLimits& limits = shared_limits();
  std::lock_guard<std::mutex> lock(limits.mutex);
  const auto found = limits.bytes_by_kernel.find(kernel);
  return found == limits.bytes_by_kernel.end() ? kDefaultDynamicSharedLimit : found->second;
}

// The checks and error codes of the CUDA runtime.
cudaError_t check_launch(const KernelLaunch& launch) {
  const dim3 block = launch.block, grid = launch.grid;
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || block.x > 1024 || block.y > 1024 || block.z > 64)
    return cudaErrorInvalidConfiguration;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    return cudaErrorInvalidConfiguration;
  if (launch.shared_bytes > dynamic_shared_limit(launch.kernel)) return cudaErrorInvalidValue;
  return cudaSuccess;
}

cudaError_t record(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

}  // namespace

void launch_kernel(const KernelLaunch& launch) {
  if (running_worker != nullptr) fail("a kernel launched a kernel: dynamic parallelism is not emulated");
  if (record(check_launch(launch)) != cudaSuccess) return;
  const long long blocks = 1ll * launch.grid.x * launch.grid.y * launch.grid.z;
#ifdef _OPENMP
  const int os_threads = launch.blocks_may_run_concurrently ? os_threads_for_blocks() : 1;
#pragma omp parallel for schedule(dynamic) num_threads(os_threads) if (os_threads > 1 && blocks > 1)
#endif
  for (long long block = 0; block < blocks; ++block) this_thread_worker().run_block(launch, block);
}

cudaError_t set_max_dynamic_shared_bytes(const void* kernel, int bytes) {
  if (bytes < 0 || static_cast<std::size_t>(bytes) > kMaxDynamicSharedOptIn) return record(cudaErrorInvalidValue);
  SharedLimits& limits = shared_limits();
  std::lock_guard<std::mutex> lock(limits.mutex);
  limits.bytes_by_kernel[kernel] = static_cast<std::size_t>(bytes);
  return cudaSuccess;
}

void sync_threads() { running_worker_or_fail("__syncthreads()").sync_threads(); }

void sync_warp(unsigned mask) { running_worker_or_fail("__syncwarp()").sync_warp(mask); }

std::uint64_t shuffle_bits(unsigned mask, std::uint64_t value_bits, ShuffleKind kind, int lane_or_delta,
                           int width) {
  return running_worker_or_fail("__shfl_*_sync").shuffle(mask, value_bits, kind, lane_or_delta, width);
}

}  // namespace emu
}  // namespace fastnn

cudaError_t cudaGetLastError() {
  const cudaError_t error = fastnn::emu::last_error;
  fastnn::emu::last_error = cudaSuccess;
  return error;
}

cudaError_t cudaPeekAtLastError() { return fastnn::emu::last_error; }

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {  // the CUDA runtime's wording
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
  }
  return "unrecognized error code";
}

cudaError_t cudaMalloc(void** pointer, std::size_t bytes) {
  if (pointer == nullptr) return fastnn::emu::record(cudaErrorInvalidValue);
  *pointer = std::malloc(bytes);  // malloc, so that ASan sees the buffer's bounds
  return *pointer == nullptr && bytes > 0 ? fastnn::emu::record(cudaErrorMemoryAllocation) : cudaSuccess;
}

cudaError_t cudaFree(void* pointer) {
  std::free(pointer);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* destination, const void* source, std::size_t bytes, cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return fastnn::emu::record(cudaErrorInvalidMemcpyDirection);
  if (bytes > 0) std::memcpy(destination, source, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* pointer, int value, std::size_t bytes) {
  if (bytes > 0) std::memset(pointer, value, bytes);
  return cudaSuccess;
}
