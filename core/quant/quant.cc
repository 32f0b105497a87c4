// placeholder until core/quant lands
namespace qp::quant {}
