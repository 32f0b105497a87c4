// Anchor translation unit of qp_kernels; operator families add their own sources.
namespace qp::kernels {
int kernels_abi_version() { return 1; }
}  // namespace qp::kernels
