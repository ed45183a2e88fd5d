// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

/// <summary>
/// The static type of an expression before it is emitted (the left operand of a float operation is converted before
/// the right one is on the stack; pointer arithmetic scales by the pointee's size). Every operator node is typed once
/// and remembered, and a chain down the left side of binary operators is typed in a loop, so typing a script is linear
/// in its length and bounded in depth (<see cref="ScriptLimits.MaxNesting"/>).
/// </summary>
internal sealed partial class CodeGenerator
{
    // Nesting of the node being typed (children of a node being typed, not the emitter's nesting).
    private int _typeDepth;

    /// <summary>The value kind <see cref="EmitExpr"/> will produce for <paramref name="expression"/>.</summary>
    private ExprType TypeOf(Expr expression) => StaticTypeOf(expression).Type;

    /// <summary>The static C type of an expression; untyped (64-bit) when nothing more is known.</summary>
    private CType CTypeOf(Expr expression) => StaticTypeOf(expression).CType;

    private StaticType StaticTypeOf(Expr expression)
    {
        switch (expression)
        {
            case NumberExpr number:
                return number.IsFloat ? new(ExprType.Float, CType.Of(ScalarType.Double), HyperType.F64)
                    : new(ExprType.Num, CType.Untyped, number.Word ? HyperType.Unknown : number.Size ? HyperType.U64 : HyperType.I64);
            case LocalExpr local:
                // Not remembered: a local's type is fixed by the statements before the one being compiled.
                return _fn.Locals.TryGetValue(local.Name, out LocalVariable? variable)
                    ? new(variable.IsFloat ? ExprType.Float : ExprType.Num, variable.CType, variable.IsParameter ? HyperType.Unknown : HyperTypes.Of(variable.CType))
                    : new(ExprType.Num, CType.Untyped, HyperType.U64);
            case StringExpr:
                return new(ExprType.Num, CType.Untyped, HyperType.Pointer);
            case RegisterExpr or PseudoExpr:
                return new(ExprType.Num, CType.Untyped, HyperType.I64);
            case GlobalExpr global:
                CType declared = GlobalType(global.Name);
                return new(declared.Storage.IsFloating() ? ExprType.Float : ExprType.Num, declared, HyperTypes.Of(declared));
            default:
                break;
        }

        if (_staticTypes.TryGetValue(expression, out StaticType known))
        {
            return known;
        }

        if (++_typeDepth > ScriptLimits.MaxNesting)
        {
            throw Error(expression.Offset, $"nesting deeper than {ScriptLimits.MaxNesting} levels; split the script");
        }

        try
        {
            StaticType result = expression is BinaryExpr binary ? ChainType(binary) : NodeType(expression);
            _staticTypes[expression] = result;
            return result;
        }
        finally
        {
            _typeDepth--;
        }
    }

    /// <summary>Types a binary operator and the untyped part of the chain down its left side, bottom up, in a loop.</summary>
    private StaticType ChainType(BinaryExpr top)
    {
        var chain = new List<BinaryExpr>();
        Expr first = top;
        while (first is BinaryExpr link && !_staticTypes.ContainsKey(link))
        {
            chain.Add(link);
            first = link.Left;
        }

        StaticType left = StaticTypeOf(first);
        for (int i = chain.Count - 1; i >= 0; i--)
        {
            BinaryExpr node = chain[i];
            left = BinaryType(node.Op, left, StaticTypeOf(node.Right));
            _staticTypes[node] = left;
            _work++;
        }

        return left;
    }

    private static StaticType BinaryType(string op, StaticType left, StaticType right)
    {
        ExprType type = op switch
        {
            "&&" or "||" or "==" or "!=" or "<" or ">" or "<=" or ">=" => ExprType.Bool,
            "+" or "-" or "*" or "/" => left.Type == ExprType.Float || right.Type == ExprType.Float ? ExprType.Float : ExprType.Num,
            "&" or "|" or "^" => left.Type == ExprType.Bool && right.Type == ExprType.Bool ? ExprType.Bool : ExprType.Num,
            _ => ExprType.Num,
        };
        HyperType hyper = op switch
        {
            "&&" or "||" or "==" or "!=" or "<" or ">" or "<=" or ">=" => HyperType.I32,
            _ => HyperTypes.Common(left.Hyper, right.Hyper),
        };
        CType plain = type == ExprType.Float ? CType.Of(ScalarType.Double) : CType.Untyped;
        if (op is not ("+" or "-"))
        {
            return new(type, plain, hyper);
        }

        // Pointer arithmetic keeps the pointer's type: p + n, n + p, p - n.
        CType l = left.CType.Decay();
        CType r = right.CType.Decay();
        CType pointer = l.IsPointer && !r.IsPointer ? l
            : op == "+" && r.IsPointer && !l.IsPointer ? r
            : plain;
        return new(type, pointer, l.IsPointer && r.IsPointer ? HyperType.I64 : hyper);
    }

    private StaticType NodeType(Expr expression)
    {
        _work++;
        switch (expression)
        {
            case UnaryExpr { Op: "-" or "+" } unary:
                StaticType value = StaticTypeOf(unary.Operand);
                return new(value.Type, value.CType.Storage.IsFloating() ? value.CType : CType.Untyped, HyperTypes.Promote(value.Hyper));
            case UnaryExpr { Op: "!" } unary:
                StaticTypeOf(unary.Operand);
                return new(ExprType.Bool, CType.Untyped, HyperType.I32);
            case UnaryExpr { Op: "*" } unary:
                // HyperDbg reads *p with POI, an unsigned 64-bit value whatever p points to.
                CType pointer = StaticTypeOf(unary.Operand).CType.Decay();
                return Loaded(pointer.Pointers > 0 ? pointer.Target : CType.Untyped) with { Hyper = HyperType.U64 };
            case UnaryExpr { Op: "&", Operand: var operand }:
                // &untyped and &.global stay plain numbers (HyperDbg's untyped addresses); typed places give T*.
                CType place = StaticTypeOf(operand).CType;
                return new(ExprType.Num, operand is GlobalExpr || place == CType.Untyped ? CType.Untyped : place.IsArray ? place.Decay() : place.PointerTo(), HyperType.Pointer);
            case UnaryExpr unary:
                StaticType bits = StaticTypeOf(unary.Operand);
                return new(ExprType.Num, CType.Untyped, HyperTypes.Promote(bits.Hyper));
            case IndexExpr index:
                StaticTypeOf(index.Index);
                CType indexed = StaticTypeOf(index.Base).CType.Decay();
                return Loaded(indexed.Pointers > 0 ? indexed.Target : CType.Untyped);
            case MemberExpr member:
                return Loaded(MemberOf(member)?.Type ?? CType.Untyped);
            case CastExpr cast:
                StaticTypeOf(cast.Operand);
                return new(cast.Type.Storage.IsFloating() ? ExprType.Float : ExprType.Num, cast.Type, HyperTypes.Of(cast.Type));
            case CallExpr call:
                if (_functions.TryGetValue(call.Name, out (int Index, FunctionDef Definition) function))
                {
                    CType returned = CType.Of(function.Definition.ReturnType);
                    return new(TypeOfCall(call), returned, HyperTypes.Of(returned));
                }

                return new(TypeOfCall(call), CType.Untyped, HyperType.U64);
            default:
                // sizeof(expression): unsigned 64-bit.
                return new(ExprType.Num, CType.Untyped, HyperType.U64);
        }
    }

    /// <summary>A value read from memory of type <paramref name="type"/>.</summary>
    private static StaticType Loaded(CType type) => new(type.Storage.IsFloating() ? ExprType.Float : ExprType.Num, type, HyperTypes.Of(type));
}
