// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>The platform's reset signal (the i8042's pulse on output port bit 0, PIIX3's 0xCF9, port 0x92 bit 0).</summary>
public interface ISystemReset
{
    /// <summary>The guest asked for a reset; <paramref name="source"/> says how (for the run's report).</summary>
    void RequestReset(string source);
}
