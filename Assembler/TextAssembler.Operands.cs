// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Reflection;
using HyperDbgRemote.Asm.Internal;
using Iced.Intel;

namespace HyperDbgRemote.Asm;

/// <content>Operands: registers, memory (sizes, segments, base + index*scale + disp, rip-relative) and immediates.</content>
public static partial class TextAssembler
{
    private static readonly Dictionary<string, (object Operand, Register Register)> s_registers = typeof(AssemblerRegisters)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType.Name.StartsWith("AssemblerRegister", StringComparison.Ordinal))
        .ToDictionary(f => f.Name, f => RegisterOf(f.GetValue(null)!), StringComparer.OrdinalIgnoreCase);

    // Iced's MemoryOperandSize is internal: sizes are taken (boxed) from its public factories and operands are built
    // through the public constructor by reflection.
    private static readonly FieldInfo s_factorySize = typeof(AssemblerMemoryOperandFactory).GetField("Size", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly ConstructorInfo s_memoryConstructor = typeof(AssemblerMemoryOperand).GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Single(c => c.GetParameters().Length == 7);
    private static readonly object s_noSize = s_factorySize.GetValue(AssemblerRegisters.__)!;

    private static readonly Dictionary<string, object> s_sizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["byte"] = s_factorySize.GetValue(AssemblerRegisters.__byte_ptr)!,
        ["word"] = s_factorySize.GetValue(AssemblerRegisters.__word_ptr)!,
        ["dword"] = s_factorySize.GetValue(AssemblerRegisters.__dword_ptr)!,
        ["qword"] = s_factorySize.GetValue(AssemblerRegisters.__qword_ptr)!,
    };

    private static readonly Register[] s_segments = [Register.ES, Register.CS, Register.SS, Register.DS, Register.FS, Register.GS];

    /// <summary>A memory operand relative to the next instruction (<c>[rip + N]</c>): its target depends on the instruction's length.</summary>
    private sealed record RipOffset(object Size, Register Segment, long Offset)
    {
        public AssemblerMemoryOperand At(ulong nextIp) => MemoryOperand(Size, Segment, Register.RIP, Register.None, 1, unchecked((long)nextIp + Offset));
    }

    private static AssemblerMemoryOperand MemoryOperand(object size, Register segment, Register baseRegister, Register index, int scale, long displacement) =>
        (AssemblerMemoryOperand)s_memoryConstructor.Invoke([size, segment, baseRegister, index, scale, displacement, AssemblerOperandFlags.None]);

    private static (object, Register) RegisterOf(object field) =>
        (field, (Register)field.GetType().GetField("Value", BindingFlags.Public | BindingFlags.Instance)!.GetValue(field)!);

    private static bool IsRegister(string name) => s_registers.ContainsKey(name) || name.Equals("rip", StringComparison.OrdinalIgnoreCase);

    /// <summary>A register (boxed Iced operand), an <see cref="AssemblerMemoryOperand"/>, a <see cref="RipOffset"/> or an immediate (long).</summary>
    private static object Operand(string text, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip, int bitness)
    {
        if (text.Length == 0)
        {
            throw new AssemblyException("an operand is empty");
        }

        if (s_registers.TryGetValue(text, out (object Operand, Register Register) register))
        {
            return register.Operand;
        }

        string t = text;
        object size = s_noSize;
        int space = t.IndexOfAny([' ', '\t', '[']);
        if (space > 0 && s_sizes.TryGetValue(t[..space], out object? s))
        {
            size = s;
            t = t[space..].Trim();
            if (t.StartsWith("ptr", StringComparison.OrdinalIgnoreCase) && (t.Length == 3 || t[3] is ' ' or '\t' or '['))
            {
                t = t[3..].Trim();
            }
        }

        Register segment = Register.None;
        int colon = t.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && s_registers.TryGetValue(t[..colon].Trim(), out (object Operand, Register Register) seg) && s_segments.Contains(seg.Register))
        {
            segment = seg.Register;
            t = t[(colon + 1)..].Trim();
        }

        if (t.StartsWith('[') && t.EndsWith(']'))
        {
            return Memory(size, segment, t[1..^1], constants, labels, ip, bitness);
        }

        if (!size.Equals(s_noSize) || segment != Register.None)
        {
            throw new AssemblyException($"'{text}' has a size or segment but is not a memory operand [...]");
        }

        return ExpressionParser.Evaluate(t, constants, labels, ip);
    }

    private static object Memory(
        object size, Register segment, string inner, Dictionary<string, long> constants, Dictionary<string, ulong> labels, ulong ip, int bitness)
    {
        Register baseRegister = Register.None;
        Register indexRegister = Register.None;
        int scale = 1;
        bool rip = false;
        string body = inner.Trim();
        if (body.StartsWith("rel ", StringComparison.OrdinalIgnoreCase))
        {
            rip = true;
            body = body[4..];
        }

        var displacement = new System.Text.StringBuilder();
        foreach ((char sign, string term) in Terms(body))
        {
            string t = term.Trim();
            int star = t.IndexOf('*', StringComparison.Ordinal);
            if (star > 0 && (GeneralRegister(t[..star].Trim()) is not null || GeneralRegister(t[(star + 1)..].Trim()) is not null))
            {
                bool first = GeneralRegister(t[..star].Trim()) is not null;
                string registerText = first ? t[..star].Trim() : t[(star + 1)..].Trim();
                string scaleText = first ? t[(star + 1)..] : t[..star];
                Require(sign == '+' && indexRegister == Register.None, $"'[{inner}]' has more than one index register or subtracts one");
                indexRegister = GeneralRegister(registerText)!.Value;
                long sc = ExpressionParser.Evaluate(scaleText, constants, labels, ip);
                Require(sc is 1 or 2 or 4 or 8, $"the scale in '[{inner}]' must be 1, 2, 4 or 8");
                scale = (int)sc;
                continue;
            }

            if (t.Equals("rip", StringComparison.OrdinalIgnoreCase))
            {
                Require(sign == '+' && !rip && bitness == 64, $"'[{inner}]' is not a valid rip-relative operand");
                rip = true;
                continue;
            }

            if (GeneralRegister(t) is Register r)
            {
                Require(sign == '+', $"'[{inner}]' subtracts a register");
                if (baseRegister == Register.None)
                {
                    baseRegister = r;
                }
                else
                {
                    Require(indexRegister == Register.None, $"'[{inner}]' has more than two registers");
                    indexRegister = r;
                }

                continue;
            }

            Require(!IsRegister(t) && !s_registers.ContainsKey(t), $"'{t}' cannot be used in an address");
            displacement.Append(sign).Append('(').Append(t).Append(')');
        }

        bool usedAddress = false;
        long disp = displacement.Length == 0 ? 0 : ExpressionParser.Evaluate(displacement.ToString(), constants, labels, ip, out usedAddress);
        if (rip)
        {
            Require(baseRegister == Register.None && indexRegister == Register.None, $"'[{inner}]': a rip-relative operand has no other registers");
            if (!usedAddress && !body.Equals(inner.Trim(), StringComparison.Ordinal))
            {
                usedAddress = true; // [rel N] names the target address itself.
            }

            return usedAddress
                ? MemoryOperand(size, segment, Register.RIP, Register.None, 1, disp)
                : new RipOffset(size, segment, disp);
        }

        Register width = baseRegister != Register.None ? baseRegister : indexRegister;
        if (width != Register.None)
        {
            int bits = width.GetSize() * 8;
            Require(
                (indexRegister == Register.None || indexRegister.GetSize() == width.GetSize()) && (baseRegister == Register.None || baseRegister.GetSize() == width.GetSize()),
                $"'[{inner}]' mixes register sizes");
            Require(bits != 64 || bitness == 64, $"'[{inner}]' uses 64-bit registers outside 64-bit code");
            Require(bits != 16 || bitness != 64, $"'[{inner}]' uses 16-bit registers in 64-bit code");
            Require(indexRegister.GetFullRegister() != Register.RSP, $"'[{inner}]': the stack pointer cannot be an index");
            Require(disp is >= int.MinValue and <= uint.MaxValue, $"the displacement in '[{inner}]' is out of range");
        }

        return MemoryOperand(size, segment, baseRegister, indexRegister, scale, disp);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new AssemblyException(message);
        }
    }

    /// <summary>A 16-, 32- or 64-bit general-purpose register usable in an address, or null.</summary>
    private static Register? GeneralRegister(string text) =>
        s_registers.TryGetValue(text, out (object Operand, Register Register) r) && (r.Register.IsGPR16() || r.Register.IsGPR32() || r.Register.IsGPR64())
            ? r.Register
            : null;

    /// <summary>Splits an address at top-level '+' and '-' into signed terms.</summary>
    private static List<(char Sign, string Term)> Terms(string text)
    {
        var terms = new List<(char, string)>();
        int depth = 0;
        int start = 0;
        char sign = '+';
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (depth == 0 && c is '+' or '-')
            {
                if (text[start..i].Trim().Length > 0)
                {
                    terms.Add((sign, text[start..i]));
                    sign = c;
                }
                else
                {
                    sign = sign == c ? '+' : '-';
                }

                start = i + 1;
            }
        }

        terms.Add((sign, text[start..]));
        return terms;
    }
}
