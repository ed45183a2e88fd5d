// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Commands.Formatting;

/// <summary>
/// The <c>r</c> command's output in HyperDbg's layout (spec 7.5): three registers a line with 16 hex digits, the flag
/// lines, the segment line and RFLAGS.
/// </summary>
internal static class RegisterFormatter
{
    private const int FlagCf = 0;
    private const int FlagPf = 2;
    private const int FlagAf = 4;
    private const int FlagZf = 6;
    private const int FlagSf = 7;
    private const int FlagIf = 9;
    private const int FlagDf = 10;
    private const int FlagOf = 11;
    private const int IoplShift = 12;

    /// <summary>Formats every register; <paramref name="get"/> returns a register by its lower-case name.</summary>
    public static string FormatAll(Func<string, ulong> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var sb = new StringBuilder();
        void Line(params string[] names)
        {
            sb.AppendJoin(' ', names.Select(n => $"{Label(n)}={get(n):x16}"));
            sb.Append('\n');
        }

        ulong flags = get("rflags");
        Line("rax", "rbx", "rcx");
        Line("rdx", "rsi", "rdi");
        Line("rip", "rsp", "rbp");
        Line("r8", "r9", "r10");
        Line("r11", "r12", "r13");
        sb.Append($"{Label("r14")}={get("r14"):x16} {Label("r15")}={get("r15"):x16} IOPL={(flags >> IoplShift) & 3:x2}\n");
        sb.Append($"OF {Bit(flags, FlagOf)} DF {Bit(flags, FlagDf)} IF {Bit(flags, FlagIf)} SF {Bit(flags, FlagSf)}  ");
        sb.Append($"ZF {Bit(flags, FlagZf)} PF {Bit(flags, FlagPf)} CF {Bit(flags, FlagCf)} AXF {Bit(flags, FlagAf)}\n");
        sb.Append($"CS {get("cs"):x4} SS {get("ss"):x4} DS {get("ds"):x4} ES {get("es"):x4} FS {get("fs"):x4} GS {get("gs"):x4}\n");
        sb.Append($"RFLAGS={flags:x16}\n");
        return sb.ToString();
    }

    /// <summary>One register: <c>rax=0000000000000041</c>.</summary>
    public static string FormatOne(string name, ulong value) => $"{name.ToLowerInvariant()}={value:x16}";

    private static string Label(string name) => name.Length == 2 ? name.ToUpperInvariant() + " " : name.ToUpperInvariant();

    private static int Bit(ulong flags, int bit) => (int)((flags >> bit) & 1);
}
