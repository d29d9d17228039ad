#!/usr/bin/env python3
"""Predicted data-parallel scaling efficiency of facecl's training (#25): the ring
allreduce model (Thakur, Rabenseifner and Gropp 2005) for the gradient sum, plus the
copies through host memory facecl makes (OpenCL buffers are not MPI-aware), against a
step's compute time per GPU. Prints a table for NN2 and Inception-ResNet-v1 at 8, 64
and 512 GPUs on 25 and 100 Gbit/s links.

  T_sum = 2 (N - 1) alpha + 2 (N - 1) / N x S / beta + (N - 1) / N x S x gamma + 2 S / pcie
  efficiency without overlap (facecl now) = T_step / (T_step + T_sum)
  with the sum hidden behind backward (bucketed, ~2/3 of a step) = T_step / (T_step + max(0, T_sum - 2/3 T_step))

The inputs, and where each comes from, are the options' help; the defaults are the
figures bench/RESULTS.md records (section "Several devices and ranks")."""
import argparse

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--alpha-us', type=float, default=10.0, help='per-message latency of the link and MPI (assumed: 10 us, TCP over Ethernet)')
ap.add_argument('--gamma-gbs', type=float, default=2.6, help='host reduction speed, GB/s (measured here: bench_allreduce, 2.5-3.2)')
ap.add_argument('--pcie-gbs', type=float, default=25.0, help='device<->host copy speed, GB/s (assumed: PCIe 4 x16)')
ap.add_argument('--nn2-step-ms', type=float, default=128.5, help='NN2 step, 32 images per GPU (H200 measured: 249 images/s at b16)')
ap.add_argument('--irv1-step-ms', type=float, default=114.1, help='Inception-ResNet-v1 step, 32 images per GPU (estimated: NN2 x 1.42/1.60 multiply-adds)')
args = ap.parse_args()

nets = [('NN2', 7456304 * 4, args.nn2_step_ms / 1e3), ('Inception-ResNet-v1', 23482624 * 4, args.irv1_step_ms / 1e3)]
print('| network | gradient MB | link | GPUs | sum ms | efficiency, no overlap | hidden behind backward |')
print('|---|---|---|---|---|---|---|')
for name, size, step in nets:
    for gbit in (25, 100):
        beta = gbit / 8 * 1e9
        for n in (8, 64, 512):
            t = (2 * (n - 1) * args.alpha_us * 1e-6 + 2 * (n - 1) / n * size / beta
                 + (n - 1) / n * size / (args.gamma_gbs * 1e9) + 2 * size / (args.pcie_gbs * 1e9))
            plain = step / (step + t)
            hidden = step / (step + max(0.0, t - 2 / 3 * step))
            print(f'| {name} | {size / 1e6:.1f} | {gbit} Gbit/s | {n} | {t * 1e3:.1f} | {plain:.0%} | {hidden:.0%} |')
