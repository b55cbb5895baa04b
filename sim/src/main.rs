/// mimalloc, not glibc's malloc: a run allocates and frees many small values (messages,
/// txns, effects), and a long run's logs grow past glibc's mmap threshold and are given
/// back to the kernel at the end of each seed, to be faulted in again by the next (a tenth
/// of steady-writes' time was in the kernel). Only the binary chooses it; the library
/// leaves the allocator to whoever links it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    zabsim::cli::main()
}
