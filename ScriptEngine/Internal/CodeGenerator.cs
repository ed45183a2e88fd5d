// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Script.Internal;

/// <summary>The static type of an expression. <see cref="Bool"/> is the result of a comparison or a logical operator
/// (docs/script-language.md "Types"): it may drive a condition, be stored (as 1/0) or be combined with another condition by
/// <c>&amp; | ^ == !=</c>, but it never mixes with numbers in arithmetic, shifts or bitwise operators.</summary>
internal enum ExprType
{
    Num,
    Bool,
    Float,
    Void,
}

/// <summary>Turns a checked syntax tree into instructions for <see cref="Interpreter"/>; also the type checker.</summary>
internal sealed partial class CodeGenerator
{
    private const string MainName = "main";

    /// <summary>Instructions between two looks at the cancellation token.</summary>
    private const int CancellationStride = 4096;

    private readonly SourceText _source;
    private readonly List<string> _warnings = [];
    private readonly List<Instruction> _code = [];
    private readonly Dictionary<string, int> _globals = new(StringComparer.Ordinal);

    // Globals declared with a type in this script (int .g = 5;): stores and reads convert to it.
    private readonly Dictionary<string, CType> _globalTypes = new(StringComparer.Ordinal);
    private readonly List<byte> _constants = [];
    private readonly Dictionary<string, ulong> _constantAddresses = new(StringComparer.Ordinal);
    private readonly List<PrintfFormat> _formats = [];
    private readonly List<string> _arrayNames = [];
    private readonly Dictionary<string, (int Index, FunctionDef Definition)> _functions = new(StringComparer.Ordinal);

    // The static type of every operator node, computed once (by reference: the tree's records compare by value).
    private readonly Dictionary<Expr, StaticType> _staticTypes = new(ReferenceEqualityComparer.Instance);
    private readonly CancellationToken _cancellation;
    private FunctionState _fn = null!;

    // Nesting of the node being emitted (blocks and expression levels, as the parser counted them).
    private int _depth;

    private CodeGenerator(SourceText source, CancellationToken cancellation)
    {
        _source = source;
        _cancellation = cancellation;
    }

    // Type computations and tree nodes visited: the work measure tests use to check that compile time is linear.
    private long _work;

    public static ScriptProgramImage Generate(SourceText source, ScriptProgram program, CancellationToken cancellation = default)
    {
        var generator = new CodeGenerator(source, cancellation);
        return generator.Run(program);
    }

    private ScriptProgramImage Run(ScriptProgram program)
    {
        for (int i = 0; i < program.Functions.Count; i++)
        {
            FunctionDef definition = program.Functions[i];
            if (!_functions.TryAdd(definition.Name, (i + 1, definition)))
            {
                throw Error(definition.Offset, $"function '{definition.Name}' is defined twice");
            }
        }

        var images = new FunctionImage[program.Functions.Count + 1];
        _fn = new FunctionState(MainName, ScalarType.Void, isMain: true);
        AddressTakenLocals.Collect(program.Body, _fn.AddressTaken);
        int entry = _code.Count;
        EmitBlock(program.Body);
        Emit(OpCode.End, 0, 0, 0);
        images[0] = Finish(MainName, entry, 0);

        for (int i = 0; i < program.Functions.Count; i++)
        {
            images[i + 1] = EmitFunction(program.Functions[i]);
        }

        return new ScriptProgramImage
        {
            Code = [.. _code],
            Functions = images,
            GlobalNames = [.. _globals.OrderBy(static g => g.Value).Select(static g => g.Key)],
            Warnings = [.. _warnings],
            Constants = [.. _constants],
            Formats = [.. _formats],
            FunctionNames = [.. images.Select(static f => f.Name)],
            ArrayNames = [.. _arrayNames],
            CompileWork = _work,
        };
    }

    private FunctionImage EmitFunction(FunctionDef definition)
    {
        _fn = new FunctionState(definition.Name, definition.ReturnType, isMain: false);
        AddressTakenLocals.Collect(definition.Body, _fn.AddressTaken);
        foreach ((CType type, string name, int offset) in definition.Parameters)
        {
            if (_fn.Locals.ContainsKey(name))
            {
                throw Error(offset, $"parameter '{name}' of '{definition.Name}' is declared twice");
            }

            _fn.Declare(name, type).IsParameter = true;
        }

        int entry = _code.Count;
        EmitBlock(definition.Body);
        if (definition.ReturnType != ScalarType.Void && !_fn.ReturnsValue)
        {
            throw Error(definition.Offset, $"function '{definition.Name}' must return a value (it is not void)");
        }

        // Falling off the end returns 0 (void functions always do).
        Emit(OpCode.PushConst, 0, 0, 1);
        Emit(OpCode.Return, 0, 0, -1);
        return Finish(definition.Name, entry, definition.Parameters.Count);
    }

    private FunctionImage Finish(string name, int entry, int parameterCount)
    {
        int frameSize = _fn.SlotCount + _fn.MaxDepth;
        if (frameSize > ScriptLimits.StackSlots)
        {
            throw new ScriptCompileException(
                $"'{name}' needs {frameSize} stack slots for its variables and temporaries; the limit is {ScriptLimits.StackSlots}");
        }

        return new FunctionImage(name, entry, parameterCount, _fn.SlotCount, frameSize);
    }

    private ScriptCompileException Error(int offset, string cause) => _source.Error(offset, cause);

    /// <summary>One level deeper (a nested block or an expression node); the parser bounds the same measure, so this
    /// is a second line of defence for the host's stack.</summary>
    private void Descend(int offset)
    {
        if (++_depth > ScriptLimits.MaxNesting)
        {
            throw Error(offset, $"nesting deeper than {ScriptLimits.MaxNesting} levels; split the script");
        }
    }

    private void Ascend() => _depth--;

    /// <summary>Records a warning: the script compiles, but probably does not do what its author meant.</summary>
    private void Warn(int offset, string cause) => _warnings.Add("warning: " + _source.Error(offset, cause).Message);

    /// <summary>Appends an instruction; <paramref name="weight"/> is how many HyperDbg instructions it stands for
    /// (<see cref="Counting.DefaultWeight"/> when omitted).</summary>
    private int Emit(OpCode op, int a, ulong b, int stackDelta, int weight = Counting.Default)
    {
        if (_code.Count % CancellationStride == 0)
        {
            _cancellation.ThrowIfCancellationRequested();
        }

        _code.Add(new Instruction(op, a, b, Counting.Weight(op, weight)));
        _fn.Depth += stackDelta;
        _fn.MaxDepth = Math.Max(_fn.MaxDepth, _fn.Depth);
        return _code.Count - 1;
    }

    private void Patch(int at, int target)
    {
        Instruction instruction = _code[at];
        instruction.A = target;
        _code[at] = instruction;
    }

    /// <summary>Adds <paramref name="delta"/> to the HyperDbg count of the instruction at <paramref name="at"/>.</summary>
    private void AddWeight(int at, int delta)
    {
        Instruction instruction = _code[at];
        instruction.Weight = Counting.Weight(instruction.Op, instruction.Weight + delta);
        _code[at] = instruction;
    }

    /// <summary>Makes the conditional jump at <paramref name="at"/> count <paramref name="extra"/> more when it falls
    /// through (HyperDbg's <c>for</c> jumps from its condition into its body).</summary>
    private void AddFallThroughWeight(int at, int extra)
    {
        Instruction instruction = _code[at];
        instruction.B += (ulong)extra;
        _code[at] = instruction;
    }

    private int GlobalIndex(string name)
    {
        if (!_globals.TryGetValue(name, out int index))
        {
            if (_globals.Count >= ScriptLimits.GlobalSlots)
            {
                throw new ScriptCompileException($"more than {ScriptLimits.GlobalSlots} global variables (at '.{name}')");
            }

            index = _globals.Count;
            _globals.Add(name, index);
        }

        return index;
    }

    private ulong ConstantAddress(StringExpr literal)
    {
        string key = (literal.Wide ? "W" : "N") + Convert.ToBase64String(literal.Bytes);
        if (!_constantAddresses.TryGetValue(key, out ulong address))
        {
            address = SyntheticMemory.ConstantsBase + (ulong)_constants.Count;
            _constants.AddRange(literal.Bytes);
            _constants.Add(0);
            if (literal.Wide)
            {
                _constants.Add(0);
            }

            _constantAddresses.Add(key, address);
        }

        return address;
    }

    /// <summary>Per-function compilation state: locals (parameters first), operand depth, open loops.</summary>
    private sealed class FunctionState
    {
        private int _temporaries;

        public FunctionState(string name, ScalarType returnType, bool isMain)
        {
            Name = name;
            ReturnType = returnType;
            IsMain = isMain;
        }

        public string Name { get; }

        public ScalarType ReturnType { get; }

        public bool IsMain { get; }

        public bool ReturnsValue { get; set; }

        public Dictionary<string, LocalVariable> Locals { get; } = new(StringComparer.Ordinal);

        /// <summary>Names whose address is taken (<c>&amp;x</c>, <c>reference(x)</c>): a narrow typed one is converted
        /// when read, since a write through a pointer stores only its own bytes.</summary>
        public HashSet<string> AddressTaken { get; } = new(StringComparer.Ordinal);

        /// <summary>Frame slots used by locals (an array takes as many 8-byte slots as its bytes need).</summary>
        public int SlotCount { get; private set; }

        public List<LoopLabels> Loops { get; } = [];

        public int Depth { get; set; }

        public int MaxDepth { get; set; }

        public LocalVariable Declare(string name, ScalarType type) => Declare(name, CType.Of(type));

        public LocalVariable Declare(string name, CType type)
        {
            var local = new LocalVariable(SlotCount, type.Storage)
            {
                Fixed = type.Scalar != ScalarType.Untyped || type.Pointers > 0 || type.IsArray,
                Shape = type.Pointers > 0 || type.IsAggregate ? type : null,
                AddressTaken = AddressTaken.Contains(name),
            };
            Locals[name] = local;
            SlotCount += type.IsAggregate ? (type.Size + CType.AddressSize - 1) / CType.AddressSize : 1;
            return local;
        }

        /// <summary>A hidden slot for chained or memory assignments (names cannot clash with script names).</summary>
        public LocalVariable Temporary() => Declare(new StringBuilder("\0tmp").Append(_temporaries++).ToString(), ScalarType.Untyped);
    }

    private sealed class LocalVariable
    {
        public LocalVariable(int slot, ScalarType type)
        {
            Slot = slot;
            Type = type;
        }

        public int Slot { get; }

        /// <summary>Declared type; an untyped local becomes <see cref="ScalarType.Double"/> when its first use stores a float.</summary>
        public ScalarType Type { get; set; }

        /// <summary>True once the type can no longer change (declared, read, or first stored).</summary>
        public bool Fixed { get; set; }

        /// <summary>The pointer or array type, null for scalars (then <see cref="Type"/> says everything).</summary>
        public CType? Shape { get; set; }

        public bool AddressTaken { get; init; }

        /// <summary>A function parameter (HyperDbg gives its symbol no type, which changes what it counts).</summary>
        public bool IsParameter { get; set; }

        public CType CType => Shape ?? CType.Of(Type);

        public bool IsArray => Shape is { IsArray: true };

        /// <summary>An array or a struct: its slots hold the bytes; used as a value it is their address.</summary>
        public bool IsAggregate => Shape is { IsAggregate: true };

        public bool IsFloat => Type.IsFloating();
    }

    /// <summary>What an expression yields: its value kind, its C type (untyped for plain 64-bit numbers) and the type
    /// HyperDbg's compiler gives it (<see cref="HyperType"/>: it decides what HyperDbg counts for an assignment).</summary>
    private readonly record struct StaticType(ExprType Type, CType CType, HyperType Hyper);

    private sealed class LoopLabels
    {
        /// <summary>What HyperDbg counts for <c>continue</c> here (0 in a for loop: the step's first instruction counts
        /// the jump into it).</summary>
        public int ContinueWeight { get; init; }

        public List<int> Breaks { get; } = [];

        public List<int> Continues { get; } = [];
    }
}
