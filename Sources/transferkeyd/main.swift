// The transferkeyd command line. Exit codes (the README's table): 0 ok; 1 the command ran and found a
// problem; 2 bad usage, config or input; 3 AWS or database unavailable.
import ArgumentParser
import Foundation

tuneAllocator()
await TransferKeyd.runMain()
