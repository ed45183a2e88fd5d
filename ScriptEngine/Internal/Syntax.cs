// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

// The syntax tree the parser builds and the code generator walks. Every node keeps the source offset of the
// token that starts it, for error messages.

/// <summary>An expression. <see cref="Height"/> is how deep every compiler pass recurses into it: a chain of binary
/// operators down the left side (<c>1+1+...+1</c>, parsed left-associative) is walked in a loop, so the chain counts as
/// one level however long it is; every other child is one level deeper. The parser rejects a script whose nesting
/// (blocks plus height) exceeds <see cref="ScriptLimits.MaxNesting"/>, so no pass can exhaust the stack.</summary>
internal abstract record Expr(int Offset)
{
    /// <summary>Recursion depth a pass needs for this expression (1 for a leaf).</summary>
    public virtual int Height => 1;
}

internal sealed record NumberExpr(int Offset, ulong Value, bool IsFloat) : Expr(Offset)
{
    /// <summary>Written as a word (a hex number made of letters, such as <c>dc</c>, or a <c>module!symbol</c>): HyperDbg's
    /// scanner gives such a token no type (it only counts differently).</summary>
    public bool Word { get; init; }

    /// <summary>A folded <c>sizeof(type)</c>: unsigned 64-bit in HyperDbg.</summary>
    public bool Size { get; init; }
}

/// <summary>A string literal; <paramref name="Bytes"/> are already encoded (UTF-16LE when wide).</summary>
internal sealed record StringExpr(int Offset, string Text, byte[] Bytes, bool Wide) : Expr(Offset);

internal sealed record RegisterExpr(int Offset, ScriptRegister Register) : Expr(Offset)
{
    /// <summary>Written without <c>@</c> (<c>rax</c>, not <c>@rax</c>): HyperDbg reads such a name as the register.</summary>
    public bool Bare { get; init; }
}

internal sealed record PseudoExpr(int Offset, PseudoRegister Pseudo) : Expr(Offset);

/// <summary>A local variable or function parameter (implicitly declared on first use, spec 6.2).</summary>
internal sealed record LocalExpr(int Offset, string Name) : Expr(Offset);

internal sealed record GlobalExpr(int Offset, string Name) : Expr(Offset);

internal sealed record UnaryExpr(int Offset, string Op, Expr Operand) : Expr(Offset)
{
    public override int Height { get; } = 1 + Operand.Height;
}

/// <summary>A binary operator; chains down <see cref="Left"/> are walked in a loop (<see cref="Expr.Height"/>).</summary>
internal sealed record BinaryExpr(int Offset, string Op, Expr Left, Expr Right) : Expr(Offset)
{
    public override int Height { get; } = 1 + Math.Max(Left is BinaryExpr chain ? chain.Height - 1 : Left.Height, Right.Height);
}

internal sealed record CallExpr(int Offset, string Name, IReadOnlyList<Expr> Args) : Expr(Offset)
{
    public override int Height { get; } = 1 + Args.Aggregate(0, static (height, a) => Math.Max(height, a.Height));
}

/// <summary>A C-style cast <c>(type)expr</c>; a pointer cast changes how the value is dereferenced.</summary>
internal sealed record CastExpr(int Offset, CType Type, Expr Operand) : Expr(Offset)
{
    public override int Height { get; } = 1 + Operand.Height;
}

/// <summary><c>base[index]</c> = <c>*(base + index)</c>; bounds-checked when <paramref name="Base"/> is a local array.</summary>
internal sealed record IndexExpr(int Offset, Expr Base, Expr Index) : Expr(Offset)
{
    public override int Height { get; } = 1 + Math.Max(Base.Height, Index.Height);
}

/// <summary><c>s.member</c> or <c>p-&gt;member</c> (<paramref name="Arrow"/>).</summary>
internal sealed record MemberExpr(int Offset, Expr Base, string Member, bool Arrow) : Expr(Offset)
{
    public override int Height { get; } = 1 + Base.Height;
}

/// <summary><c>sizeof(expression)</c>; <c>sizeof(type)</c> is folded to a number by the parser.</summary>
internal sealed record SizeofExpr(int Offset, Expr Operand) : Expr(Offset)
{
    public override int Height { get; } = 1 + Operand.Height;
}

internal abstract record Stmt(int Offset);

/// <summary><c>a = b = value;</c> (chained) or <c>a op= value;</c> (compound, one target).</summary>
internal sealed record AssignStmt(int Offset, IReadOnlyList<Expr> Targets, string Op, Expr Value) : Stmt(Offset);

internal sealed record IncDecStmt(int Offset, Expr Target, bool Increment) : Stmt(Offset);

/// <summary>A typed local: <c>int x = 1;</c>, <c>char *s = "a";</c>, <c>int a[3] = {1, 2, 3};</c>
/// (<paramref name="InitList"/> holds the braced initialisers of an array or a struct).</summary>
internal sealed record DeclStmt(int Offset, CType Type, string Name, Expr? Init, IReadOnlyList<Expr>? InitList = null) : Stmt(Offset)
{
    /// <summary>A typed global (<c>int .g = 5;</c>): <see cref="Name"/> is the global's name without the dot.</summary>
    public bool Global { get; init; }
}

internal sealed record ExprStmt(int Offset, Expr Expr) : Stmt(Offset);

internal sealed record IfStmt(int Offset, IReadOnlyList<(Expr Condition, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt>? Else) : Stmt(Offset);

internal sealed record WhileStmt(int Offset, Expr Condition, IReadOnlyList<Stmt> Body) : Stmt(Offset);

internal sealed record DoWhileStmt(int Offset, IReadOnlyList<Stmt> Body, Expr Condition) : Stmt(Offset);

internal sealed record ForStmt(int Offset, Stmt? Init, Expr? Condition, Stmt? Step, IReadOnlyList<Stmt> Body) : Stmt(Offset);

internal sealed record BreakStmt(int Offset) : Stmt(Offset);

internal sealed record ContinueStmt(int Offset) : Stmt(Offset);

internal sealed record ReturnStmt(int Offset, Expr? Value) : Stmt(Offset);

/// <summary>Where a function is defined in the script's top level (HyperDbg's code jumps over its body there).</summary>
internal sealed record FunctionDefinedStmt(int Offset) : Stmt(Offset);

internal sealed record FunctionDef(int Offset, ScalarType ReturnType, string Name, IReadOnlyList<(CType Type, string Name, int Offset)> Parameters, IReadOnlyList<Stmt> Body) : Stmt(Offset);

/// <summary>A whole script: top-level statements plus the user-defined functions.</summary>
internal sealed record ScriptProgram(IReadOnlyList<Stmt> Body, IReadOnlyList<FunctionDef> Functions);
