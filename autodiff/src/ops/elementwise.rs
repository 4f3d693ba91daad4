//! Element-wise ops. For each: the kernel the backend runs, then the derivative, written with
//! tensor ops so it runs on every device.

use crate::backend::{BinaryOp, UnaryOp};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shape, Layout};
use crate::tensor::Tensor;

impl Tensor {
    /// Runs a unary kernel and records `df(x, y, g) = g * f'(x)`.
    fn unary(
        &self,
        op: UnaryOp,
        name: &'static str,
        df: impl Fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Result<Tensor> {
        let storage = self.device().backend().unary(op, self.storage(), self.layout())?;
        let x = self.clone();
        Ok(Tensor::from_op(name, storage, Layout::contiguous(self.shape()), self, &[self], move |y, g, _| {
            Ok(vec![Some(df(&x, y, g)?)])
        }))
    }

    /// A unary kernel whose derivative is zero almost everywhere (masks, signs).
    fn unary_flat(&self, op: UnaryOp, name: &'static str) -> Result<Tensor> {
        let storage = self.device().backend().unary(op, self.storage(), self.layout())?;
        Ok(Tensor::from_op(name, storage, Layout::contiguous(self.shape()), self, &[self], |_, _, _| Ok(vec![None])))
    }

    // d(-x) = -1
    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg, "neg", |_, _, g| g.neg())
    }
    // d e^x = e^x = y
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp, "exp", |_, y, g| g.mul(y))
    }
    // d ln x = 1/x
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log, "log", |x, _, g| g.div(x))
    }
    // d sqrt(x) = 1 / (2 sqrt(x)) = 0.5 / y
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt, "sqrt", |_, y, g| g.div(y)?.mul_scalar(0.5))
    }
    // d|x| = sign(x); at 0 the subgradient 0 is used.
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs, "abs", |x, _, g| g.mul(&x.sign()?))
    }
    // d x^2 = 2x
    pub fn square(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Square, "square", |x, _, g| g.mul(x)?.mul_scalar(2.0))
    }
    // d (1/x) = -1/x^2 = -y^2
    pub fn recip(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Recip, "recip", |_, y, g| g.mul(&y.square()?)?.neg())
    }
    // d x^p = p x^(p-1)
    pub fn powf(&self, p: f64) -> Result<Tensor> {
        self.unary(UnaryOp::Powf(p), "powf", move |x, _, g| g.mul(&x.powf(p - 1.0)?)?.mul_scalar(p))
    }
    // d tanh = 1 - tanh^2
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh, "tanh", |_, y, g| g.mul(&y.square()?.affine(-1.0, 1.0)?))
    }
    // d sigmoid = s (1 - s)
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid, "sigmoid", |_, y, g| g.mul(&y.mul(&y.affine(-1.0, 1.0)?)?))
    }
    // d relu = 1 where x > 0 (0 at the kink)
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Relu, "relu", |x, _, g| g.where_positive(x))
    }
    // d leaky_relu = 1 where x > 0, slope elsewhere: step(x) (1 - slope) + slope
    pub fn leaky_relu(&self, slope: f64) -> Result<Tensor> {
        self.unary(UnaryOp::LeakyRelu(slope), "leaky_relu", move |x, _, g| {
            g.mul(&x.step()?.affine(1.0 - slope, slope)?)
        })
    }
    /// log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows.
    // d softplus = sigmoid(x)
    pub fn softplus(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Softplus, "softplus", |x, _, g| g.mul(&x.sigmoid()?))
    }
    /// a*x + b in one kernel.
    // d (a x + b) = a
    pub fn affine(&self, mul: f64, add: f64) -> Result<Tensor> {
        self.unary(UnaryOp::Affine { mul, add }, "affine", move |_, _, g| g.mul_scalar(mul))
    }
    /// Limits values to [lo, hi]. The gradient passes where lo <= x <= hi and is 0 outside.
    pub fn clamp(&self, lo: f64, hi: f64) -> Result<Tensor> {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(Error::Invalid { op: "clamp", msg: format!("bounds [{lo}, {hi}] are not an interval") });
        }
        self.unary(UnaryOp::Clamp { lo, hi }, "clamp", move |x, _, g| {
            let inside = x.ge_scalar(lo)?.mul(&x.le_scalar(hi)?)?;
            g.mul(&inside)
        })
    }
    /// 1 where x > 0, else 0. No gradient flows through a mask.
    pub fn step(&self) -> Result<Tensor> {
        self.unary_flat(UnaryOp::Step, "step")
    }
    /// -1, 0 or 1. No gradient flows through it.
    pub fn sign(&self) -> Result<Tensor> {
        self.unary_flat(UnaryOp::Sign, "sign")
    }

    // ----- derived from the primitives above ----------------------------------------------

    /// x * sigmoid(x), also called swish.
    pub fn silu(&self) -> Result<Tensor> {
        self.mul(&self.sigmoid()?)
    }
    /// log(sigmoid(x)) = -softplus(-x): stable for large |x|.
    pub fn log_sigmoid(&self) -> Result<Tensor> {
        self.neg()?.softplus()?.neg()
    }
    pub fn add_scalar(&self, s: f64) -> Result<Tensor> {
        self.affine(1.0, s)
    }
    pub fn sub_scalar(&self, s: f64) -> Result<Tensor> {
        self.affine(1.0, -s)
    }
    pub fn mul_scalar(&self, s: f64) -> Result<Tensor> {
        self.affine(s, 0.0)
    }
    pub fn div_scalar(&self, s: f64) -> Result<Tensor> {
        self.affine(1.0 / s, 0.0)
    }

    // ----- binary ops with NumPy broadcasting ---------------------------------------------

    /// Broadcasts both operands to one shape (layout only) and runs a binary kernel.
    fn binary(
        &self,
        rhs: &Tensor,
        op: BinaryOp,
        name: &'static str,
        df: impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Result<Tensor> {
        self.same_device_dtype(name, rhs)?;
        let shape = broadcast_shape(name, self.shape(), rhs.shape())?;
        let la = self.layout().broadcast_to(name, &shape)?;
        let lb = rhs.layout().broadcast_to(name, &shape)?;
        let storage = self.device().backend().binary(op, self.storage(), &la, rhs.storage(), &lb)?;
        let (a, b) = (self.clone(), rhs.clone());
        Ok(Tensor::from_op(name, storage, Layout::contiguous(&shape), self, &[self, rhs], move |y, g, needs| {
            df(&a, &b, y, g, needs)
        }))
    }

    // d(a+b) = (1, 1)
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Add, "add", |_, _, _, g, _| Ok(vec![Some(g.clone()), Some(g.clone())]))
    }
    /// `self` where `by > 0`, zero elsewhere: relu's backward rule as one kernel. The general
    /// element-wise choice (NumPy's and PyTorch's `where`) is [`Tensor::where_cond`].
    // d = (where_positive(g, by), 0): `by` only selects.
    pub fn where_positive(&self, by: &Tensor) -> Result<Tensor> {
        self.binary(by, BinaryOp::WherePositive, "where_positive", |_, by, _, g, n| {
            Ok(vec![when(n[0], || g.where_positive(by))?, None])
        })
    }
    // d(a-b) = (1, -1)
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Sub, "sub", |_, _, _, g, n| Ok(vec![Some(g.clone()), when(n[1], || g.neg())?]))
    }
    // d(ab) = (b, a)
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Mul, "mul", |a, b, _, g, n| {
            Ok(vec![when(n[0], || g.mul(b))?, when(n[1], || g.mul(a))?])
        })
    }
    // d(a/b) = (1/b, -a/b^2 = -y/b)
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Div, "div", |_, b, y, g, n| {
            Ok(vec![when(n[0], || g.div(b))?, when(n[1], || g.mul(y)?.div(b)?.neg())?])
        })
    }
    /// Element-wise maximum. Subgradient at ties: half to each operand (as JAX does), so
    /// max(x, x) has derivative 1 and the finite-difference checks agree at the tie.
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Maximum, "maximum", |a, b, _, g, _| {
            let share_a = a.gt(b)?.add(&a.eq_mask(b)?.mul_scalar(0.5)?)?;
            Ok(vec![Some(g.mul(&share_a)?), Some(g.mul(&share_a.affine(-1.0, 1.0)?)?)])
        })
    }
    /// Element-wise minimum; ties split the gradient like `maximum`.
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Minimum, "minimum", |a, b, _, g, _| {
            let share_a = a.lt(b)?.add(&a.eq_mask(b)?.mul_scalar(0.5)?)?;
            Ok(vec![Some(g.mul(&share_a)?), Some(g.mul(&share_a.affine(-1.0, 1.0)?)?)])
        })
    }

    fn compare(&self, rhs: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
        self.binary(rhs, op, name, |_, _, _, _, _| Ok(vec![None, None]))
    }
    /// Masks: 1.0 where the comparison holds, else 0.0, in the operands' dtype.
    pub fn eq_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, BinaryOp::Eq, "eq")
    }
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, BinaryOp::Gt, "gt")
    }
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, BinaryOp::Ge, "ge")
    }
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, BinaryOp::Lt, "lt")
    }
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, BinaryOp::Le, "le")
    }
    pub fn gt_scalar(&self, s: f64) -> Result<Tensor> {
        self.gt(&Tensor::scalar(s, self.dtype(), self.device())?)
    }
    pub fn ge_scalar(&self, s: f64) -> Result<Tensor> {
        self.ge(&Tensor::scalar(s, self.dtype(), self.device())?)
    }
    pub fn lt_scalar(&self, s: f64) -> Result<Tensor> {
        self.lt(&Tensor::scalar(s, self.dtype(), self.device())?)
    }
    pub fn le_scalar(&self, s: f64) -> Result<Tensor> {
        self.le(&Tensor::scalar(s, self.dtype(), self.device())?)
    }
    pub fn maximum_scalar(&self, s: f64) -> Result<Tensor> {
        self.maximum(&Tensor::scalar(s, self.dtype(), self.device())?)
    }
    pub fn minimum_scalar(&self, s: f64) -> Result<Tensor> {
        self.minimum(&Tensor::scalar(s, self.dtype(), self.device())?)
    }

    /// `on_true` where `self` is non-zero, else `on_false`: NumPy's `np.where(cond, a, b)` and
    /// PyTorch's `torch.where`. Conditions are masks such as `x.gt_scalar(0.0)?`; all three
    /// broadcast to one shape, and only the chosen branch receives gradient.
    #[doc(alias = "where")]
    pub fn where_cond(&self, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        Tensor::select(self, on_true, on_false)
    }

    /// `mask != 0 ? on_true : on_false`, all three broadcast to one shape. The mask gets no
    /// gradient; each branch gets the gradient where it was chosen. Same as
    /// [`Tensor::where_cond`] with the mask first.
    pub fn select(mask: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        mask.same_device_dtype("select", on_true)?;
        on_true.same_device_dtype("select", on_false)?;
        let shape = broadcast_shape("select", mask.shape(), on_true.shape())?;
        let shape = broadcast_shape("select", &shape, on_false.shape())?;
        let lm = mask.layout().broadcast_to("select", &shape)?;
        let la = on_true.layout().broadcast_to("select", &shape)?;
        let lb = on_false.layout().broadcast_to("select", &shape)?;
        let storage =
            mask.device().backend().select(mask.storage(), &lm, on_true.storage(), &la, on_false.storage(), &lb)?;
        let m = mask.detach();
        Ok(Tensor::from_op(
            "select",
            storage,
            Layout::contiguous(&shape),
            on_true,
            &[mask, on_true, on_false],
            move |_, g, n| {
                let zero = g.zeros_like()?;
                Ok(vec![
                    None,
                    when(n[1], || Tensor::select(&m, g, &zero))?,
                    when(n[2], || Tensor::select(&m, &zero, g))?,
                ])
            },
        ))
    }
}

/// Computes a gradient only for inputs that need one.
pub(crate) fn when(need: bool, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    if need {
        f().map(Some)
    } else {
        Ok(None)
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident) => {
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(self, rhs)
            }
        }
        impl std::ops::$trait<f64> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: f64) -> Result<Tensor> {
                let rhs = Tensor::scalar(rhs, self.dtype(), self.device())?;
                Tensor::$method(self, &rhs)
            }
        }
    };
}
operator!(Add, add);
operator!(Sub, sub);
operator!(Mul, mul);
operator!(Div, div);

impl std::ops::Neg for &Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        Tensor::neg(self)
    }
}
