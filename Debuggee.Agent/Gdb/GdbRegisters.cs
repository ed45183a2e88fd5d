// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Gdb;

/// <summary>
/// gdb's register layouts mapped onto the agent's one register table: a general register's value is read and written
/// through <see cref="RegisterNames"/> by its name there. <see cref="Amd64"/> is gdb's amd64 layout
/// (<c>features/i386/64bit-core.xml</c>, <c>64bit-sse.xml</c>, <c>64bit-segments.xml</c>; the order QEMU's
/// qemu-system-x86_64 gdbstub uses); <see cref="I386"/> is gdb's i386 layout (<c>32bit-core.xml</c>,
/// <c>32bit-sse.xml</c>: eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags, cs to gs, the x87 registers, xmm0 to
/// xmm7, mxcsr; the registers of QEMU's qemu-system-i386 description without its control registers), served while
/// the core runs 32-bit code, and as <see cref="I8086"/> while it runs 16-bit code. The x87 registers and mxcsr, which the engine does not expose, read
/// as 0 and ignore writes. A register narrower than the one it maps onto (eax on rax, eflags on rflags) writes only
/// its own bits.
/// </summary>
internal sealed class GdbRegisters
{
    /// <summary>One register of the layout: its gdb name, width in bytes, gdb type and feature, and where it lives (a
    /// name in <see cref="RegisterNames"/>, "xmmN", or null for none).</summary>
    internal sealed record Entry(string Name, int Bytes, string Type, string Feature, string? Source);

    private const string Core = "org.gnu.gdb.i386.core";
    private const string Sse = "org.gnu.gdb.i386.sse";
    private const string Segments = "org.gnu.gdb.i386.segments";

    private GdbRegisters(string architecture, List<Entry> layout)
    {
        Architecture = architecture;
        Layout = layout;
        TargetXml = BuildXml(architecture, layout);
    }

    /// <summary>The 64-bit layout (architecture i386:x86-64), for a core in long mode.</summary>
    public static GdbRegisters Amd64 { get; } = new("i386:x86-64", BuildAmd64());

    /// <summary>The 32-bit layout (architecture i386), for a core in real mode or 32-bit protected mode.</summary>
    public static GdbRegisters I386 { get; } = new("i386", BuildI386());

    /// <summary>
    /// The 32-bit layout with the architecture i8086, for a core executing 16-bit code (real mode, or a 16-bit code
    /// segment): gdb then decodes 16-bit instructions. QEMU serves i386 there and gdb ignores a later
    /// <c>set architecture i8086</c> for disassembly (measured with Debian's gdb 13.1 against this stub serving i386: <c>x/i</c> stayed 32-bit).
    /// </summary>
    public static GdbRegisters I8086 { get; } = new("i8086", BuildI386());

    /// <summary>The layout for a core executing code of <paramref name="bitness"/> bits (16, 32 or 64).</summary>
    public static GdbRegisters ForBitness(int bitness) => bitness switch
    {
        64 => Amd64,
        32 => I386,
        _ => I8086,
    };

    /// <summary>The target description's architecture.</summary>
    public string Architecture { get; }

    /// <summary>The layout, in gdb's register-number order.</summary>
    public IReadOnlyList<Entry> Layout { get; }

    /// <summary>The target description gdb reads through <c>qXfer:features:read:target.xml</c>.</summary>
    public string TargetXml { get; }

    private static void AddX87(List<Entry> list)
    {
        for (int i = 0; i < 8; i++)
        {
            list.Add(new Entry($"st{i}", 10, "i387_ext", Core, null));
        }

        foreach (string f in (string[])["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"])
        {
            list.Add(new Entry(f, 4, "int", Core, null));
        }
    }

    private static List<Entry> BuildAmd64()
    {
        var list = new List<Entry>();
        foreach (string r in (string[])["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"])
        {
            list.Add(new Entry(r, 8, r is "rbp" or "rsp" ? "data_ptr" : "int64", Core, r));
        }

        list.Add(new Entry("rip", 8, "code_ptr", Core, "rip"));
        list.Add(new Entry("eflags", 4, "int32", Core, "rflags"));
        foreach (string s in (string[])["cs", "ss", "ds", "es", "fs", "gs"])
        {
            list.Add(new Entry(s, 4, "int32", Core, s));
        }

        AddX87(list);
        for (int i = 0; i < Vcpu.XmmRegisterCount; i++)
        {
            list.Add(new Entry($"xmm{i}", 16, "vec128", Sse, $"xmm{i}"));
        }

        list.Add(new Entry("mxcsr", 4, "int32", Sse, null));
        list.Add(new Entry("fs_base", 8, "int", Segments, "fs_base"));
        list.Add(new Entry("gs_base", 8, "int", Segments, "gs_base"));
        return list;
    }

    private static List<Entry> BuildI386()
    {
        var list = new List<Entry>();
        foreach (string r in (string[])["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"])
        {
            list.Add(new Entry("e" + r, 4, r is "bp" or "sp" ? "data_ptr" : "int32", Core, "r" + r));
        }

        list.Add(new Entry("eip", 4, "code_ptr", Core, "rip"));
        list.Add(new Entry("eflags", 4, "int32", Core, "rflags"));
        foreach (string s in (string[])["cs", "ss", "ds", "es", "fs", "gs"])
        {
            list.Add(new Entry(s, 4, "int32", Core, s));
        }

        AddX87(list);
        for (int i = 0; i < 8; i++)
        {
            list.Add(new Entry($"xmm{i}", 16, "vec128", Sse, $"xmm{i}"));
        }

        list.Add(new Entry("mxcsr", 4, "int32", Sse, null));
        return list;
    }

    private static string BuildXml(string architecture, List<Entry> layout)
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target><architecture>").Append(architecture).Append("</architecture>");
        string? feature = null;
        for (int n = 0; n < layout.Count; n++)
        {
            Entry e = layout[n];
            if (e.Feature != feature)
            {
                if (feature is not null)
                {
                    xml.Append("</feature>");
                }

                feature = e.Feature;
                xml.Append("<feature name=\"").Append(feature).Append("\">");
                if (feature == Sse)
                {
                    xml.Append("<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/><vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>")
                        .Append("<vector id=\"v16i8\" type=\"int8\" count=\"16\"/><vector id=\"v8i16\" type=\"int16\" count=\"8\"/>")
                        .Append("<vector id=\"v4i32\" type=\"int32\" count=\"4\"/><vector id=\"v2i64\" type=\"int64\" count=\"2\"/>")
                        .Append("<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>")
                        .Append("<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>")
                        .Append("<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/></union>");
                }
            }

            string group = e.Feature == Sse ? " group=\"vector\"" : e.Name.StartsWith("st", StringComparison.Ordinal) || e.Name.StartsWith('f') && e.Feature == Core ? " group=\"float\"" : string.Empty;
            xml.Append("<reg name=\"").Append(e.Name).Append("\" bitsize=\"").Append(e.Bytes * 8).Append("\" type=\"").Append(e.Type)
                .Append("\" regnum=\"").Append(n).Append('"').Append(group).Append("/>");
        }

        xml.Append("</feature></target>");
        return xml.ToString();
    }

    /// <summary>Reads register <paramref name="number"/> of a halted core as little-endian bytes.</summary>
    public byte[] Read(Vcpu core, int number)
    {
        Entry e = Layout[number];
        byte[] bytes = new byte[e.Bytes];
        if (e.Source is null)
        {
            return bytes;
        }

        if (e.Source.StartsWith("xmm", StringComparison.Ordinal))
        {
            UInt128 v = core.ReadXmm(int.Parse(e.Source.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture));
            BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)v);
            BitConverter.TryWriteBytes(bytes.AsSpan(8, 8), (ulong)(v >> 64));
            return bytes;
        }

        ulong value = RegisterNames.Read(core, e.Source);
        for (int i = 0; i < e.Bytes; i++)
        {
            bytes[i] = (byte)(value >> (8 * i));
        }

        return bytes;
    }

    /// <summary>Writes register <paramref name="number"/> of a halted core from little-endian bytes (exactly its width).</summary>
    public void Write(Vcpu core, int number, ReadOnlySpan<byte> bytes)
    {
        Entry e = Layout[number];
        if (e.Source is null)
        {
            return;
        }

        if (e.Source.StartsWith("xmm", StringComparison.Ordinal))
        {
            UInt128 v = new(BitConverter.ToUInt64(bytes[8..]), BitConverter.ToUInt64(bytes));
            core.WriteXmm(int.Parse(e.Source.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture), v);
            return;
        }

        ulong value = 0;
        for (int i = e.Bytes - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        ulong old = RegisterNames.Read(core, e.Source);
        if (e.Bytes < 8)
        {
            ulong mask = (1UL << (8 * e.Bytes)) - 1;
            value = (old & ~mask) | value;
        }

        if (old != value)
        {
            RegisterNames.Write(core, e.Source, value);
        }
    }
}
