// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.Protocol;

/// <summary>
/// The register names the wire carries beyond HyperDbg's script registers (whose names and layouts are the script
/// engine's table): the full registers <c>fs_base</c>, <c>gs_base</c> and <c>efer</c> in a <c>RegisterSet</c>, and
/// <c>xmm0</c> … <c>xmm15</c> (128 bits) in <c>ReadRegistersResponse.xmm</c> and <c>WriteRegisterRequest.value_high</c>.
/// </summary>
public static class WireRegisters
{
    /// <summary>The number of xmm registers (xmm0 to xmm15).</summary>
    public const int XmmCount = 16;

    /// <summary>Bytes of one xmm register on the wire (little-endian).</summary>
    public const int XmmBytes = 16;

    /// <summary>Full registers the agent adds to HyperDbg's script registers.</summary>
    public static IReadOnlyList<string> Extras { get; } = ["fs_base", "gs_base", "efer"];

    /// <summary>Parses xmm0 to xmm15 (lower case, no '@').</summary>
    public static bool TryParseXmm(string name, out int index)
    {
        ArgumentNullException.ThrowIfNull(name);
        index = -1;
        return name.StartsWith("xmm", StringComparison.Ordinal) && name.Length is 4 or 5 && (name.Length == 4 || name[3] != '0')
            && int.TryParse(name.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out index) && index < XmmCount;
    }
}
