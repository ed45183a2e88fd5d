// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Asm;
using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.Tests.Shared;

/// <summary>The demo guest's label addresses, assembled from its source as the guest is, so tests that expect an
/// address in the debugger's output follow the demo's code when it changes.</summary>
internal static class DemoSymbols
{
    private static readonly IReadOnlyDictionary<string, ulong> s_labels = TextAssembler.Assemble(DemoGuest.Source(), DemoGuest.LoadAddress).Labels;

    /// <summary>The address of <paramref name="label"/>.</summary>
    public static ulong Address(string label) => s_labels[label];

    /// <summary>The address of <paramref name="label"/> plus <paramref name="offset"/> as the debugger shows it (<c>00000000`00100307</c>).</summary>
    public static string Shown(string label, ulong offset = 0)
    {
        ulong address = s_labels[label] + offset;
        return $"{address >> 32:x8}`{address & 0xFFFF_FFFF:x8}";
    }
}
